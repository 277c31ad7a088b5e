package knownbad_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestKubeletSuiteRejectsKnownBadKubelets runs the kubelet specs aimed at
// each bug against the broken kubelet (on the simulated runtime) and asserts
// that they fail.
func TestKubeletSuiteRejectsKnownBadKubelets(t *testing.T) {
	t.Parallel()
	for _, e := range entries(t, "kubelet") {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, e, &knownbad.Env{}, e.Specs()...)
		})
	}
}
