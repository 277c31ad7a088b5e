package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAuthSuiteRejectsUnprotectedServers runs the auth suite against API servers missing one
// protection each and asserts that the specs aimed at it fail.
func TestAuthSuiteRejectsUnprotectedServers(t *testing.T) {
	cases := []struct {
		name      string
		configure func(*apiserver.Config)
		mustFail  []string
	}{
		{"ignores Pod Security labels", knownbad.APIIgnoringPodSecurity,
			[]string{"auth.podsecurity.enforce-baseline", "auth.podsecurity.enforce-restricted", "auth.podsecurity.warn"}},
		{"stores Secrets in plain text", knownbad.APIStoringSecretsInPlainText,
			[]string{"auth.encryption.secret-not-in-stored-bytes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			results := conformance.CheckAuth(context.Background(), harness.InProcessProtectedAPI("knownbad/"+c.name, harness.MemoryStore(), c.configure))
			failed := map[string]bool{}
			for _, id := range results.Failed() {
				failed[id] = true
			}
			for _, id := range c.mustFail {
				if !failed[id] {
					t.Errorf("the suite did not reject the bug %q through %s", c.name, id)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("results:\n%s", results)
			}
		})
	}
}
