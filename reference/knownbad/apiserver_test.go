package knownbad_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAPISuiteRejectsKnownBadServers runs the API specs aimed at each known-bad API server
// of the catalogue (one bug each, aggregation and quota admission included) and asserts
// that they fail, while the specs that must still pass against it pass.
func TestAPISuiteRejectsKnownBadServers(t *testing.T) {
	t.Parallel()
	for _, e := range entries(t, "api") {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, e, &knownbad.Env{}, e.Specs()...)
		})
	}
}
