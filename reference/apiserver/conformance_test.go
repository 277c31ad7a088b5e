package apiserver_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestAPIConformance runs the API specs against the reference server on the
// memory store (fast) and on embedded etcd (the store clusterkit up uses). Every spec
// gets a server of its own, so the specs run in parallel (go test -parallel at once).
func TestAPIConformance(t *testing.T) {
	for _, store := range []conformance.StoreHarness{harness.MemoryStore(), harness.EtcdStore()} {
		t.Run(store.Name, func(t *testing.T) {
			t.Parallel()
			h := harness.InProcessAPI(store)
			h.ParallelSpecs = true
			conformance.RunAPI(t, h)
		})
	}
}

// TestAuthConformance runs every auth spec against the closed in-process server, closed as
// clusterkit up closes it (TLS, client certificates, anonymous only on the public-info
// endpoints), which composes all the pieces (authentication, ServiceAccount tokens, RBAC,
// Pod Security, encryption), on the memory store and on embedded etcd. Every spec gets a
// server of its own, so the specs run in parallel.
func TestAuthConformance(t *testing.T) {
	for _, store := range []conformance.StoreHarness{harness.MemoryStore(), harness.EtcdStore()} {
		t.Run(store.Name, func(t *testing.T) {
			t.Parallel()
			h := harness.InProcessAuth(store)
			h.ParallelSpecs = true
			conformance.RunAuth(t, h)
		})
	}
}
