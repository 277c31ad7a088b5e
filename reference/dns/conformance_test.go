package dns_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestDNSConformance runs the DNS specs against the reference cluster DNS on an in-process
// reference API server, asking the server directly: the search-path specs need a pod and are
// skipped (the lab test runs them from a pod).
func TestDNSConformance(t *testing.T) {
	conformance.RunDNS(t, harness.InProcessDNS("reference dns", harness.MemoryStore(), harness.ReferenceDNS))
}

// TestDNSConformanceFromPod runs every DNS spec, the search-path ones too, from a pod of a
// kubelet (simulated runtime) whose clusterDNS is the reference DNS on port 53 of a loopback
// address: the path a live cluster's specs take (pods/exec of ckimage resolve, the kubelet's
// resolv.conf). Needs root for port 53.
func TestDNSConformanceFromPod(t *testing.T) {
	if why := harness.InProcessPodDNSUnavailable(); why != "" {
		t.Skip(why)
	}
	conformance.RunDNS(t, harness.InProcessPodDNS("reference dns", harness.MemoryStore(), harness.ReferenceDNS))
}
