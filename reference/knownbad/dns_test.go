package knownbad_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestDNSSuiteRejectsKnownBadDNS runs every DNS spec against each known-bad cluster DNS and
// asserts that exactly the specs aimed at its bug fail — and that the reference DNS, run the
// same way, fails none.
func TestDNSSuiteRejectsKnownBadDNS(t *testing.T) {
	t.Run("reference", func(t *testing.T) {
		h := harness.InProcessDNS("knownbad/reference", harness.MemoryStore(), harness.ReferenceDNS)
		h.ConvergeTimeout = 3 * time.Second // as the known-bads' harnesses
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
			results := checkRejected(t, e, &knownbad.Env{}) // every DNS spec
			want := slices.Clone(e.MustFail)
			slices.Sort(want)
			if failed := results.Failed(); !slices.Equal(failed, want) {
				t.Errorf("failed specs %v, want exactly %v", failed, want)
			}
		})
	}
}
