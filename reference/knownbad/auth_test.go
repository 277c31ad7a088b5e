package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// access adapts a change of the server's Access to one of its configuration.
func access(modify func(*apiserver.Access)) func(*apiserver.Config) {
	return func(c *apiserver.Config) { modify(&c.Access) }
}

// TestAuthSuiteRejectsKnownBadServers runs the auth suite against closed API servers with one
// hole each and asserts that the specs aimed at the hole fail.
func TestAuthSuiteRejectsKnownBadServers(t *testing.T) {
	cases := []struct {
		name     string
		modify   func(*apiserver.Config)
		mustFail []string
	}{
		{"lets anonymous write", access(knownbad.AuthAnonymousWrites),
			[]string{"auth.authn.anonymous-resources-rejected"}},
		{"treats bad credentials as anonymous", access(knownbad.AuthBadCredentialsAnonymous),
			[]string{"auth.authn.invalid-token-401"}},
		{"trusts any client certificate", access(knownbad.AuthTrustingAnyClientCert),
			[]string{"auth.authn.foreign-client-cert"}},
		{"authorizes kubelets by the system:node role alone", knownbad.AuthNodesByRoleAlone,
			[]string{"auth.node.secret-through-pods"}},
		{"has no NodeRestriction", knownbad.AuthWithoutNodeRestriction,
			[]string{"auth.node.own-node-only", "auth.node.taints-immutable", "auth.node.mirror-pods-only", "auth.node.foreign-pods", "auth.node.token-bound-to-own-pod", "auth.pcr.node-own-pods"}},
		{"lets anyone issue PodCertificateRequests", knownbad.AuthWithoutSignerCheck,
			[]string{"auth.pcr.sign-permission"}},
		{"calls validating webhooks before mutating ones", knownbad.AdmissionValidatingBeforeMutating,
			[]string{"auth.admission.mutating-before-validating"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			results := conformance.CheckAuthSpecs(context.Background(), harness.ModifiedAuth("knownbad/"+c.name, harness.MemoryStore(), c.modify), c.mustFail...)
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
