package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestDNSSuiteRejectsKnownBadDNS runs every DNS spec against each known-bad cluster DNS and
// asserts that the specs aimed at its bug fail — and that the reference DNS, with the default
// patience, fails none. (The known-bads run with a 3 s patience so that waiting out their stale
// answers stays short; on a loaded machine other specs may then fail too, which is no wrong
// verdict on a DNS that is wrong.)
func TestDNSSuiteRejectsKnownBadDNS(t *testing.T) {
	t.Run("reference", func(t *testing.T) {
		h := harness.InProcessDNS("knownbad/reference", harness.MemoryStore(), harness.ReferenceDNS)
		results := conformance.CheckDNS(context.Background(), h)
		if failed := results.Failed(); len(failed) > 0 {
			t.Errorf("failed specs %v, want none", failed)
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("results:\n%s", results)
		}
	})
	for _, e := range entries(t, "dns") {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, e, &knownbad.Env{}) // every DNS spec
		})
	}
}
