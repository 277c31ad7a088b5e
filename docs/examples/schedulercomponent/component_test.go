package schedulercomponent_test

import (
	"context"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/docs/examples/schedulercomponent"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// cluster is a fresh clusterkit API server for each spec, with the admission every
// kube-apiserver runs that the specs rely on (Priority; ValidatingAdmissionPolicies, with which
// the binding specs refuse bindings).
var cluster = harness.PolicyCluster(harness.MemoryStore())

// TestComponentConformance runs the whole scheduler suite against the
// example component.
func TestComponentConformance(t *testing.T) {
	conformance.RunScheduler(t, conformance.SchedulerHarness{
		Name:    "example in-process component",
		Cluster: cluster,
		Scoring: interfaces.MostAllocated,
		Start: func(_ context.Context, cfg *rest.Config, name string) (func(), error) {
			fw, err := scheduler.NewFramework(plugins.Registry(), scheduler.DefaultProfile(interfaces.MostAllocated))
			if err != nil {
				return nil, err
			}
			s := schedulercomponent.New(cfg, name, fw)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = s.Run(ctx) }()
			return func() { cancel(); <-done }, nil
		},
	})
}
