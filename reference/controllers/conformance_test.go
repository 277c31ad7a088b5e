package controllers_test

import (
	"strings"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
)

// TestControllerConformance runs the controller specs against the reference
// controllers on the in-process API server, in virtual time.
func TestControllerConformance(t *testing.T) {
	conformance.RunControllers(t, inprocess.Harness(inprocess.Options{Log: t.Logf}))
}

// TestNodeDeletionSpecsSkipWithReason checks that a harness declaring no node deletion grace
// (Kubernetes' behaviour without a cloud provider) skips the deletion specs and says why.
func TestNodeDeletionSpecsSkipWithReason(t *testing.T) {
	h := inprocess.Harness(inprocess.Options{})
	h.NodeDeletionGrace = 0
	h.Focus = []string{"controllers.nodelifecycle.deletes-dead-nodes", "controllers.nodelifecycle.keeps-live-nodes"}
	results := conformance.CheckControllers(t.Context(), h)
	if len(results) != len(h.Focus) {
		t.Fatalf("ran %d specs, want %d:\n%s", len(results), len(h.Focus), results)
	}
	for _, r := range results {
		if r.Outcome != conformance.Skipped || !strings.Contains(r.Message, "NodeDeletionGrace") {
			t.Errorf("%s: %s %q, want skipped naming ControllerHarness.NodeDeletionGrace", r.ID, r.Outcome, r.Message)
		}
	}
}
