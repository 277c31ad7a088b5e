package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestBinaryConformance builds the example binary and runs the scheduler
// suite against it as a separate process, selected by schedulerName.
func TestBinaryConformance(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "schedulerbinary")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	conformance.RunScheduler(t, conformance.SchedulerHarness{
		Name:    "example out-of-process binary",
		Scoring: interfaces.MostAllocated,
		// The reference scheduler preempts.
		Preemption: true,
		// A fresh clusterkit API server per spec, with Priority admission and
		// ValidatingAdmissionPolicies (the binding specs refuse bindings).
		Cluster: harness.PolicyCluster(harness.MemoryStore()),
		Start: func(_ context.Context, cfg *rest.Config, name string) (func(), error) {
			kubeconfig := filepath.Join(dir, name+".kubeconfig")
			body := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user: {}\ncurrent-context: c\n", cfg.Host)
			if err := os.WriteFile(kubeconfig, []byte(body), 0o600); err != nil {
				return nil, err
			}
			cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "--scheduler-name", name)
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			return func() {
				_ = cmd.Process.Signal(os.Interrupt)
				done := make(chan struct{})
				go func() { _ = cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-done
				}
			}, nil
		},
	})
}
