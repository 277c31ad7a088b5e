package etcdstore_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

func TestConformance(t *testing.T) {
	conformance.RunStore(t, harness.EtcdStore())
}
