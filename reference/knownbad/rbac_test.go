package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAuthSuiteRejectsNamespaceBlindRBAC runs the auth suite against an API server whose RBAC
// lets a RoleBinding grant in every namespace and asserts that the RBAC namespace specs fail.
func TestAuthSuiteRejectsNamespaceBlindRBAC(t *testing.T) {
	results := conformance.CheckAuth(context.Background(),
		harness.RBACAuth("knownbad/rbac ignores the RoleBinding's namespace", harness.MemoryStore(), knownbad.RBACIgnoringRoleBindingNamespace))
	failed := map[string]bool{}
	for _, id := range results.Failed() {
		failed[id] = true
	}
	for _, id := range []string{"auth.rbac.rolebinding-namespace", "auth.rbac.clusterrole-in-rolebinding"} {
		if !failed[id] {
			t.Errorf("the suite did not reject a namespace-blind RBAC through %s", id)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("results:\n%s", results)
	}
}
