package proxy_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
)

// TestProxyConformance runs the proxy specs against the reference proxy on nftables, with real
// traffic between network namespaces (needs root; skipped otherwise).
func TestProxyConformance(t *testing.T) {
	if why := netlab.Supported(); why != "" {
		t.Skip(why)
	}
	conformance.RunProxy(t, harness.NetlabProxy("reference proxy on nftables", harness.MemoryStore(), harness.NFTablesDataplane))
}
