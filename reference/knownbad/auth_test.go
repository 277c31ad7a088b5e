package knownbad_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAuthSuiteRejectsKnownBadServers runs the auth specs aimed at each known-bad API server
// of the catalogue (one hole each: authentication, node authorization, admission, missing
// protections, RBAC, tokens) and asserts that they fail.
func TestAuthSuiteRejectsKnownBadServers(t *testing.T) {
	t.Parallel()
	for _, e := range entries(t, "auth") {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, e, &knownbad.Env{}, e.Specs()...)
		})
	}
}
