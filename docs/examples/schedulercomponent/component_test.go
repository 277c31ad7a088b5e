package schedulercomponent_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/docs/examples/schedulercomponent"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

func cluster(_ context.Context, c conformance.Cleaner) (*rest.Config, error) {
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store, Admission: admission.NewChainHandler(priority.New())}) // Priority admission: spec.priority from priorityClassName
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(srv.Handler())
	c.Cleanup(func() { ts.Close(); _ = store.Close() })
	return &rest.Config{Host: ts.URL, QPS: -1}, nil
}

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
