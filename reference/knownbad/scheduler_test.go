package knownbad_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestSchedulerSuiteRejectsKnownBadSchedulers runs the specs aimed at each
// known-bad scheduler's bug and asserts that each of them fails.
func TestSchedulerSuiteRejectsKnownBadSchedulers(t *testing.T) {
	t.Parallel()
	for _, e := range entries(t, "scheduler") {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			results := checkRejected(t, e, &knownbad.Env{}, e.Specs()...)
			if len(results) != len(e.Specs()) {
				t.Fatalf("ran %d specs, want %d:\n%s", len(results), len(e.Specs()), results)
			}
		})
	}
}
