package kindlab_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/kindlab"
)

// TestThreeLabsAtOnce creates three labs at the same time (a CI matrix on one machine) and
// deletes them at the same time: each must come up on an index, bridge and subnet of its own,
// Ready, reachable through its own kubeconfig, and each delete must leave nothing of it while
// the others still run.
func TestThreeLabsAtOnce(t *testing.T) {
	ctx, dir, bin, name := labTest(t, "ckm", 10*time.Minute)
	labs := make([]*kindlab.Lab, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range labs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			labs[i], errs[i] = kindlab.Create(ctx, kindlab.Config{Name: fmt.Sprintf("%s-%d", name, i), Nodes: 1,
				Dir: filepath.Join(dir, fmt.Sprint(i)), Binary: bin})
		}()
	}
	wg.Wait()
	defer func() {
		for _, l := range labs {
			if l != nil {
				_ = l.Delete(context.Background(), io.Discard)
			}
		}
	}()
	bridges := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("lab %d: %v\n%s", i, err, logs(filepath.Join(dir, fmt.Sprint(i), "logs")))
		}
		l := labs[i]
		if bridges[l.Bridge] {
			t.Fatalf("two labs share bridge %s", l.Bridge)
		}
		bridges[l.Bridge] = true
		rc, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := kubernetes.NewForConfigOrDie(rc).CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(nodes.Items) != 2 {
			t.Errorf("lab %s: its nodes through its own kubeconfig: %v (%v), want its two", l.Name, nodes, err)
		}
		for _, n := range nodes.Items {
			if !strings.HasPrefix(n.Name, l.Name+"-") {
				t.Errorf("lab %s's API server lists node %s of another lab", l.Name, n.Name)
			}
		}
	}
	for i := range labs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = labs[i].Delete(ctx, io.Discard)
		}()
	}
	wg.Wait()
	for i, l := range labs {
		if errs[i] != nil {
			t.Errorf("deleting lab %s: %v", l.Name, errs[i])
		}
		if out, _ := exec.Command("ip", "link", "show", l.Bridge).CombinedOutput(); !strings.Contains(string(out), "does not exist") {
			t.Errorf("bridge %s left after Delete", l.Bridge)
		}
		if _, err := os.Stat(l.Dir); err == nil {
			t.Errorf("lab directory %s left after Delete", l.Dir)
		}
		labs[i] = nil
	}
}
