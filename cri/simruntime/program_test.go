package simruntime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/simruntime"
)

// A Program container runs its function: it is running while the function runs, its output is
// the log, an error is exit code 1 and StopContainer ends it through its context.
func TestPrograms(t *testing.T) {
	fail := make(chan error, 1)
	e := start(t, simruntime.Options{Programs: map[string]simruntime.Program{
		"example.com/serve:v1": func(ctx context.Context, args []string, stdout, _ io.Writer) error {
			fmt.Fprintf(stdout, "serving %s\n", strings.Join(args, " "))
			select {
			case <-ctx.Done():
				fmt.Fprint(stdout, "stopping")
				return ctx.Err()
			case err := <-fail:
				return err
			}
		},
	}})
	if st, err := e.img.ImageStatus(e.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "example.com/serve:v1"}}); err != nil || st.Image == nil {
		t.Fatalf("a Program's image is present before any pull: %+v %v", st, err)
	}
	sb, _ := e.sandbox("prog")
	id := e.run(sb, "a", "example.com/serve:v1", []string{"serve"}, []string{"--x"})
	time.Sleep(50 * time.Millisecond)
	if st := e.status(id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("state %v, want running", st.State)
	}
	if _, err := e.rt.StopContainer(e.ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 10}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 0 {
		t.Fatalf("stopped: %+v; want exited 0", st)
	}
	log, err := os.ReadFile(filepath.Join(e.logs, "prog", "a", "0.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "stdout F serving serve --x\n") || !strings.Contains(string(log), "stdout F stopping\n") {
		t.Fatalf("log:\n%s", log)
	}

	id = e.run(sb, "b", "example.com/serve:v1", nil, nil)
	fail <- errors.New("lost the lease")
	st := e.waitExited(id)
	if st.ExitCode != 1 || st.Reason != "Error" {
		t.Fatalf("failed: %+v; want exit 1, Error", st)
	}
	log, _ = os.ReadFile(filepath.Join(e.logs, "prog", "b", "0.log"))
	if !strings.Contains(string(log), "stderr F lost the lease\n") {
		t.Fatalf("log:\n%s", log)
	}
}
