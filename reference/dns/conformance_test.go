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
