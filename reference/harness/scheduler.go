package harness

import (
	"context"
	"time"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

// ReferenceScheduler is the reference scheduler with the given scoring,
// against a fresh in-process API server on the store for every spec (with dynamic admission:
// the binding specs refuse bindings with a ValidatingAdmissionPolicy).
func ReferenceScheduler(store conformance.StoreHarness, scoring interfaces.SchedulerScoring) conformance.SchedulerHarness {
	return conformance.SchedulerHarness{
		Name:    "reference scheduler (" + string(scoring) + ")",
		Cluster: PolicyCluster(store),
		Start:   StartReferenceScheduler(scoring),
		Scoring: scoring,
		// The reference scheduler preempts (preemption.go).
		Preemption: true,
		// PodTopologySpread's system defaults (workloads.go).
		SpreadDefaults: true,
	}
}

// StartReferenceScheduler runs the reference scheduler in a goroutine; the
// returned stop waits (up to 10 s) for it to end.
func StartReferenceScheduler(scoring interfaces.SchedulerScoring) func(context.Context, *rest.Config, string) (func(), error) {
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
