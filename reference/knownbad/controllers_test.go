package knownbad_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestControllerSuiteRejectsKnownBadControllers replaces one reference
// controller at a time with a known-bad one and asserts that the specs aimed
// at its bug fail. Only those specs run (Focus), with a short patience.
func TestControllerSuiteRejectsKnownBadControllers(t *testing.T) {
	t.Parallel()
	for _, e := range entries(t, "controllers") {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, e, &knownbad.Env{}, e.Specs()...)
		})
	}
}
