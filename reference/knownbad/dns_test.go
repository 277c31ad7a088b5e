package knownbad_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/dns"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestDNSSuiteRejectsKnownBadDNS runs every DNS spec against each known-bad cluster DNS and
// asserts that exactly the specs aimed at its bug fail — and that the reference DNS, run the
// same way, fails none.
func TestDNSSuiteRejectsKnownBadDNS(t *testing.T) {
	cases := []struct {
		name     string
		server   harness.DNSServerFactory
		mustFail []string
	}{
		{"reference", harness.ReferenceDNS, nil},
		{"caches answers forever (stale Service IPs)",
			func(c kubernetes.Interface, cfg dns.Config) harness.DNSServer {
				return knownbad.NewDNSCachingForever(dns.New(c, cfg))
			},
			[]string{"dns.service.recreated", "dns.headless.follows-endpoints"}},
		{"answers NXDOMAIN for NODATA",
			func(c kubernetes.Interface, cfg dns.Config) harness.DNSServer {
				return knownbad.DNSNXDomainForNoData{Inner: dns.New(c, cfg)}
			},
			[]string{"dns.service.nodata"}},
		{"publishes not-ready endpoints",
			func(c kubernetes.Interface, cfg dns.Config) harness.DNSServer {
				return knownbad.NewDNSPublishingNotReady(c, cfg)
			},
			[]string{"dns.headless.ready-endpoints", "dns.headless.follows-endpoints"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := harness.InProcessDNS("knownbad/"+c.name, harness.MemoryStore(), c.server)
			h.ConvergeTimeout = 3 * time.Second // the reference answers a change within a TTL (1 s here)
			results := conformance.CheckDNS(context.Background(), h)
			failed := results.Failed()
			want := slices.Clone(c.mustFail)
			slices.Sort(want)
			if !slices.Equal(failed, want) {
				t.Errorf("failed specs %v, want exactly %v", failed, want)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("results:\n%s", results)
			}
		})
	}
}
