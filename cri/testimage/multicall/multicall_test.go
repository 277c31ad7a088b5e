package multicall

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/cri/images"
)

// TestMain dispatches as the clusterkit executable does: this test binary, called through a
// symlink named for a program, runs that program.
func TestMain(m *testing.M) {
	Run()
	switch filepath.Base(os.Args[0]) {
	case images.PauseProgramName, images.TestProgramName, images.DNSProgramName:
		os.Exit(3) // Run did not take the program's name: never run the tests (they would call it again)
	}
	os.Exit(m.Run())
}

// link makes a symlink named name to this test binary.
func link(t *testing.T, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(self, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunsTheProgramItIsCalledAs(t *testing.T) {
	out, err := exec.Command(link(t, images.TestProgramName), "echo", "from ckimage").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "from ckimage" {
		t.Errorf("called as %s: %q, %v; want the test program's echo", images.TestProgramName, out, err)
	}

	pause := exec.Command(link(t, images.PauseProgramName))
	if err := pause.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pause.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("called as %s it exited at once (%v); want it to hold until SIGTERM", images.PauseProgramName, err)
	case <-time.After(300 * time.Millisecond):
	}
	_ = pause.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("pause after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(5 * time.Second):
		_ = pause.Process.Kill()
		t.Error("pause did not exit on SIGTERM")
	}

	out, _ = exec.Command(link(t, images.DNSProgramName), "--help").CombinedOutput()
	if !strings.Contains(string(out), "-resolv-conf") {
		t.Errorf("called as %s --help: %q; want the cluster DNS server's flags", images.DNSProgramName, out)
	}
}
