package knownbad_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

func startComponent(build func(*rest.Config, string) (interfaces.Component, error)) func(context.Context, *rest.Config, string) (func(), error) {
	return func(_ context.Context, cfg *rest.Config, name string) (func(), error) {
		c, err := build(cfg, name)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = c.Run(ctx)
		}()
		return func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		}, nil
	}
}

// TestSchedulerSuiteRejectsKnownBadSchedulers runs the specs aimed at each
// known-bad scheduler's bug and asserts that each of them fails.
func TestSchedulerSuiteRejectsKnownBadSchedulers(t *testing.T) {
	cases := []struct {
		name     string
		build    func(*rest.Config, string) (interfaces.Component, error)
		mustFail []string
	}{
		{"ignores memory", knownbad.SchedulerIgnoringMemory, []string{"scheduler.fit.requests"}},
		{"ignores already-bound pods", knownbad.SchedulerIgnoringBoundPods, []string{"scheduler.fit.bound-pods", "scheduler.fit.pod-count", "scheduler.pending.unschedulable"}},
		{"ignores taints", knownbad.SchedulerIgnoringTaints, []string{"scheduler.taints.tolerations", "scheduler.taints.control-plane"}},
		{"ignores nodeSelector and node affinity", knownbad.SchedulerIgnoringNodeSelector, []string{"scheduler.affinity.node-selector", "scheduler.affinity.required"}},
		{"double-books under a burst", knownbad.SchedulerDoubleBooking, []string{"scheduler.fit.burst"}},
		{"schedules pods of another schedulerName", knownbad.SchedulerOfAnyName, []string{"scheduler.name.own-pods-only"}},
		{"writes no Events", knownbad.SchedulerWithoutEvents, []string{"scheduler.events.scheduled", "scheduler.events.failed-scheduling"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			results := conformance.CheckScheduler(context.Background(), conformance.SchedulerHarness{
				Name:        "knownbad/" + c.name,
				Cluster:     harness.Cluster(harness.MemoryStore()),
				Start:       startComponent(c.build),
				Scoring:     interfaces.LeastAllocated,
				Focus:       c.mustFail,
				SpecTimeout: 20 * time.Second,
			})
			if len(results) != len(c.mustFail) {
				t.Fatalf("ran %d specs, want %d:\n%s", len(results), len(c.mustFail), results)
			}
			failed := map[string]bool{}
			for _, id := range results.Failed() {
				failed[id] = true
			}
			for _, id := range c.mustFail {
				if !failed[id] {
					t.Errorf("the suite did not reject the bug %q through %s", c.name, id)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("results:\n%s", results)
			}
		})
	}
}
