package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAuthSuiteRejectsUnprotectedServers runs the auth suite against API servers missing one
// protection each and asserts that the specs aimed at it fail.
func TestAuthSuiteRejectsUnprotectedServers(t *testing.T) {
	store := harness.MemoryStore()
	cases := []struct {
		name     string
		harness  conformance.AuthHarness
		mustFail []string
	}{
		{"ignores Pod Security labels", harness.InProcessProtectedAPI("knownbad/no Pod Security", store, knownbad.APIIgnoringPodSecurity),
			[]string{"auth.podsecurity.enforce-baseline", "auth.podsecurity.enforce-restricted", "auth.podsecurity.warn"}},
		{"has no ServiceAccount admission", harness.InProcessProtectedAPI("knownbad/no ServiceAccount admission", store, knownbad.APIWithoutServiceAccountAdmission),
			[]string{"auth.serviceaccount.default-name", "auth.serviceaccount.token-volume", "auth.serviceaccount.automount-false", "auth.serviceaccount.missing-rejected"}},
		{"stores Secrets in plain text", harness.InProcessProtectedAPI("knownbad/plain Secrets", store, knownbad.APIStoringSecretsInPlainText),
			[]string{"auth.encryption.secret-not-in-stored-bytes"}},
		{"ignores dryRun", harness.WrappedProtectedAPI("knownbad/no dryRun", store, knownbad.APIIgnoringDryRun),
			[]string{"auth.dryrun.all-stores-nothing"}},
		{"accepts any dryRun", harness.WrappedProtectedAPI("knownbad/any dryRun", store, knownbad.APIAcceptingAnyDryRun),
			[]string{"auth.dryrun.only-all"}},
		{"ignores a negative tailLines", harness.WrappedProtectedAPI("knownbad/negative tailLines", store, knownbad.APIIgnoringNegativeTailLines),
			[]string{"auth.podlog.negative-tail-lines"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			results := conformance.CheckAuthSpecs(context.Background(), c.harness, c.mustFail...)
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
