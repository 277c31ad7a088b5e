package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAuthSuiteRejectsKnownBadServers runs the auth suite against closed API servers with one
// hole each and asserts that the specs aimed at the hole fail.
func TestAuthSuiteRejectsKnownBadServers(t *testing.T) {
	cases := []struct {
		name     string
		modify   func(*apiserver.Access)
		mustFail []string
	}{
		{"lets anonymous write", knownbad.AuthAnonymousWrites,
			[]string{"auth.authn.anonymous-resources-rejected"}},
		{"treats bad credentials as anonymous", knownbad.AuthBadCredentialsAnonymous,
			[]string{"auth.authn.invalid-token-401"}},
		{"trusts any client certificate", knownbad.AuthTrustingAnyClientCert,
			[]string{"auth.authn.foreign-client-cert"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			results := conformance.CheckAuth(context.Background(), harness.ModifiedAuth("knownbad/"+c.name, harness.MemoryStore(), c.modify))
			failed := map[string]bool{}
			for _, id := range results.Failed() {
				failed[id] = true
			}
			for _, id := range c.mustFail {
				if !failed[id] {
					t.Errorf("the suite did not reject the hole %q through %s", c.name, id)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("results:\n%s", results)
			}
		})
	}
}
