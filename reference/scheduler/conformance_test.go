package scheduler_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// inProcessCluster is a fresh reference API server on a memory store.
func inProcessCluster(_ context.Context, c conformance.Cleaner) (*rest.Config, error) {
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(srv.Handler())
	c.Cleanup(func() { _ = store.Close() })
	c.Cleanup(ts.Close)
	return &rest.Config{Host: ts.URL, QPS: -1}, nil
}

// startReference runs the reference scheduler in a goroutine.
func startReference(scoring interfaces.SchedulerScoring) func(context.Context, *rest.Config, string) (func(), error) {
	return func(_ context.Context, cfg *rest.Config, name string) (func(), error) {
		p := scheduler.DefaultProfile(scoring)
		s, err := scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p})
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		}, nil
	}
}

func TestSchedulerConformance(t *testing.T) {
	conformance.RunScheduler(t, conformance.SchedulerHarness{
		Name:    "reference scheduler (LeastAllocated)",
		Cluster: inProcessCluster,
		Start:   startReference(interfaces.LeastAllocated),
		Scoring: interfaces.LeastAllocated,
	})
}

// TestSchedulerConformanceMostAllocated runs the best-fit spec with the
// other scoring strategy.
func TestSchedulerConformanceMostAllocated(t *testing.T) {
	conformance.RunScheduler(t, conformance.SchedulerHarness{
		Name:    "reference scheduler (MostAllocated)",
		Cluster: inProcessCluster,
		Start:   startReference(interfaces.MostAllocated),
		Scoring: interfaces.MostAllocated,
		Focus:   []string{"scheduler.score.best-fit", "scheduler.fit.burst"},
	})
}
