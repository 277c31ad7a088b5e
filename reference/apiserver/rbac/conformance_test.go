package rbac_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestRBACConformance runs the auth specs against the reference server closed by a static
// admin token and RBAC, on the memory store (run -run 'TestRBACConformance/auth.rbac' for the
// RBAC specs alone).
func TestRBACConformance(t *testing.T) {
	conformance.RunAuth(t, harness.InProcessRBAC(harness.MemoryStore()))
}
