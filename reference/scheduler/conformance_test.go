package scheduler_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/harness"
)

func TestSchedulerConformance(t *testing.T) {
	conformance.RunScheduler(t, harness.ReferenceScheduler(harness.MemoryStore(), interfaces.LeastAllocated))
}

// TestSchedulerConformanceMostAllocated runs the scoring specs with the
// other scoring strategy.
func TestSchedulerConformanceMostAllocated(t *testing.T) {
	h := harness.ReferenceScheduler(harness.MemoryStore(), interfaces.MostAllocated)
	h.Focus = []string{"scheduler.score.best-fit", "scheduler.fit.burst", "scheduler.score.balanced-allocation", "scheduler.score.least-allocated-weight",
		"scheduler.score.nonzero-defaults", "scheduler.score.explicit-zero", "scheduler.score.balanced-requests"}
	conformance.RunScheduler(t, h)
}
