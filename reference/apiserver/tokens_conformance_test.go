package apiserver_test

import (
	"strings"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestTokenConformance runs the ServiceAccount token specs against the reference server closed
// to all but bearer tokens (harness.TokenAuthAPI). The other auth specs need the closed harness
// of clusterkit up (TLS, RBAC) and are not judged here.
func TestTokenConformance(t *testing.T) {
	results := conformance.CheckAuth(t.Context(), harness.TokenAuthAPI("reference apiserver with ServiceAccount tokens", harness.MemoryStore(), nil))
	n := 0
	for _, r := range results {
		if !strings.HasPrefix(r.ID, "auth.tokens.") {
			continue
		}
		n++
		t.Logf("%s %s (%s)", r.Outcome, r.ID, r.Duration)
		if r.Outcome != conformance.Passed {
			t.Errorf("%s: %s\n%s", r.Outcome, r.Title(), r.Message)
		}
	}
	if n == 0 {
		t.Fatal("no auth.tokens spec ran")
	}
}
