package apiserver_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestAPIConformance runs the API specs against the reference server on the
// memory store (fast) and on embedded etcd (the store clusterkit up uses).
func TestAPIConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) { conformance.RunAPI(t, harness.InProcessAPI(harness.MemoryStore())) })
	t.Run("etcd", func(t *testing.T) { conformance.RunAPI(t, harness.InProcessAPI(harness.EtcdStore())) })
}

// TestAuthConformance runs the auth specs against the reference server closed as clusterkit up
// closes it (TLS, client certificates, anonymous only on the public-info endpoints).
// TestAuthConformance runs every auth spec against the closed in-process server, which
// composes all the pieces (authentication, ServiceAccount tokens, RBAC, Pod Security,
// encryption), on the memory store and on embedded etcd.
func TestAuthConformance(t *testing.T) {
	for _, store := range []conformance.StoreHarness{harness.MemoryStore(), harness.EtcdStore()} {
		t.Run(store.Name, func(t *testing.T) {
			conformance.RunAuth(t, harness.InProcessAuth(store))
		})
	}
}
