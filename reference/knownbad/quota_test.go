package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAPISuiteRejectsQuotaIgnoringHard runs the quota specs against a server whose
// ResourceQuota admission lets a create go over hard, and asserts that the spec aimed at it
// fails (and that the spec about counting still passes: the bug is only the refusal).
func TestAPISuiteRejectsQuotaIgnoringHard(t *testing.T) {
	h := harness.InProcessAPIWithQuota("knownbad/quota ignoring hard", harness.MemoryStore(), knownbad.QuotaAdmissionIgnoringHard)
	h.Focus = []string{"api.resourcequota.exceeded", "api.resourcequota.status-used"}
	results := conformance.CheckAPI(context.Background(), h)
	failed := map[string]bool{}
	for _, id := range results.Failed() {
		failed[id] = true
	}
	if !failed["api.resourcequota.exceeded"] {
		t.Errorf("the suite did not reject a quota that lets a create go over hard (api.resourcequota.exceeded passed)")
	}
	if failed["api.resourcequota.status-used"] {
		t.Errorf("api.resourcequota.status-used failed: the harness itself is broken")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("results:\n%s", results)
	}
}
