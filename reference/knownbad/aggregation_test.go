package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAPISuiteRejectsAggregationAsItself runs the aggregation specs against a server whose
// aggregation layer proxies as itself rather than as the requester, and asserts that the
// identity spec fails while the certificate spec (not about the identity) still passes.
func TestAPISuiteRejectsAggregationAsItself(t *testing.T) {
	h := harness.InProcessAPIWithAggregation("knownbad/aggregation as itself", harness.MemoryStore(), knownbad.AggregationAsItself)
	h.Focus = []string{"api.aggregation.proxy-identity", "api.aggregation.front-proxy-certificate"}
	results := conformance.CheckAPI(context.Background(), h)
	failed := map[string]bool{}
	for _, id := range results.Failed() {
		failed[id] = true
	}
	if !failed["api.aggregation.proxy-identity"] {
		t.Errorf("the suite did not reject an aggregator that proxies as itself (api.aggregation.proxy-identity passed)")
	}
	if failed["api.aggregation.front-proxy-certificate"] {
		t.Errorf("api.aggregation.front-proxy-certificate failed: the harness itself is broken")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("results:\n%s", results)
	}
}
