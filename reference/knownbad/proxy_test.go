package knownbad_test

import (
	"context"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// wrapNFTables makes a dataplane factory that wraps the reference dataplane.
func wrapNFTables(wrap func(interfaces.ProxyDataplane) interfaces.ProxyDataplane) harness.ProxyDataplaneFactory {
	return func(ns string) interfaces.ProxyDataplane { return wrap(harness.NFTablesDataplane(ns)) }
}

// TestProxySuiteRejectsKnownBadProxies runs the proxy specs against the reference proxy with
// each known-bad dataplane and asserts that the specs aimed at its bug fail. The pods run on
// the simulated runtime with real network namespaces (needs root).
func TestProxySuiteRejectsKnownBadProxies(t *testing.T) {
	if why := harness.ProxyLabUnavailable(harness.ProxyLabSimulated); why != "" {
		t.Skip(why)
	}
	lab := harness.NewProxyLab(harness.ProxyLabSimulated, harness.MemoryStore())
	t.Cleanup(lab.Close)
	cases := []struct {
		name     string
		dp       harness.ProxyDataplaneFactory
		mustFail []string
	}{
		{"sends to not-ready endpoints",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return knownbad.ProxySendingToNotReady{Dataplane: d}
			}),
			[]string{"proxy.clusterip.ready-backends", "proxy.clusterip.not-ready", "proxy.nodeport.node-address"}},
		{"never removes deleted endpoints",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return knownbad.NewProxyKeepingDeletedEndpoints(d)
			}),
			[]string{"proxy.clusterip.deleted-endpoint", "proxy.clusterip.no-endpoints"}},
		{"ignores the port mapping",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return knownbad.ProxyIgnoringPortMapping{Dataplane: d}
			}),
			[]string{"proxy.clusterip.ready-backends", "proxy.clusterip.port-mapping"}},
		{"ignores session affinity",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return knownbad.ProxyIgnoringAffinity{Dataplane: d}
			}),
			[]string{"proxy.affinity.client-ip"}},
		{"ignores externalTrafficPolicy Local",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return knownbad.ProxyIgnoringExternalTrafficPolicy{Dataplane: d}
			}),
			[]string{"proxy.nodeport.external-local"}},
		{"trusts the rules left from before a restart", knownbad.NewProxyTrustingLeftoverRules,
			[]string{"proxy.restart.catch-up"}},
		{"no hairpin masquerade", knownbad.ProxyWithoutHairpin,
			[]string{"proxy.clusterip.hairpin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := lab.Harness("knownbad/"+c.name, c.dp)
			h.Focus = c.mustFail
			h.ConvergeTimeout = 5 * time.Second // the reference converges in well under a second
			results := conformance.CheckProxy(context.Background(), h)
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
