package apiserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// protectionSpec reports whether id is one of the auth specs of encryption at rest, Pod
// Security, dryRun and pods/log options (the other auth specs need a closed server).
func protectionSpec(id string) bool {
	for _, p := range []string{"auth.podsecurity.", "auth.dryrun.", "auth.encryption.", "auth.podlog."} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// TestAuthProtectionConformance runs the protection specs against the reference server with
// Pod Security admission and Secrets encrypted at rest, on the memory store and on etcd.
func TestAuthProtectionConformance(t *testing.T) {
	for name, store := range map[string]conformance.StoreHarness{"memory": harness.MemoryStore(), "etcd": harness.EtcdStore()} {
		t.Run(name, func(t *testing.T) {
			results := conformance.CheckAuth(context.Background(), harness.InProcessProtectedAPI("reference apiserver on "+name, store, nil))
			n := 0
			for _, r := range results {
				if !protectionSpec(r.ID) {
					continue
				}
				n++
				if r.Outcome != conformance.Passed {
					t.Errorf("%s %s: %s", r.ID, r.Outcome, r.Message)
				}
			}
			if n == 0 {
				t.Fatal("no protection spec ran")
			}
		})
	}
}
