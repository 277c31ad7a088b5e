package proxy_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestProxyConformance runs the proxy specs against the reference proxy on nftables, with pods
// started by the kubelet in network namespaces of their own on a lab node: once on the
// simulated runtime (simulated processes, real network) and once on containerd (real
// containers). Needs root; the containerd level also containerd (scripts/install-containerd.sh).
func TestProxyConformance(t *testing.T) {
	for _, rt := range []harness.ProxyLabRuntime{harness.ProxyLabSimulated, harness.ProxyLabContainerd} {
		t.Run(string(rt), func(t *testing.T) {
			if why := harness.ProxyLabUnavailable(rt); why != "" {
				t.Skip(why)
			}
			lab := harness.NewProxyLab(rt, harness.MemoryStore())
			t.Cleanup(lab.Close)
			conformance.RunProxy(t, lab.Harness("reference proxy on nftables", harness.NFTablesDataplane))
		})
	}
}
