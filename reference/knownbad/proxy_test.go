package knownbad_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestProxySuiteRejectsKnownBadProxies runs the proxy specs against the reference proxy with
// each known-bad dataplane and asserts that the specs aimed at its bug fail. The pods run on
// the simulated runtime with real network namespaces (needs root), in one lab.
func TestProxySuiteRejectsKnownBadProxies(t *testing.T) {
	if why := harness.ProxyLabUnavailable(harness.ProxyLabSimulated); why != "" {
		t.Skip(why)
	}
	env := &knownbad.Env{}
	t.Cleanup(env.Close)
	for _, e := range entries(t, "proxy") {
		t.Run(e.Name, func(t *testing.T) {
			checkRejected(t, e, env, e.Specs()...)
		})
	}
}
