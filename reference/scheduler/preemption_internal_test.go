package scheduler

import "testing"

// TestNumCandidates checks kube-scheduler's DefaultPreemption defaults:
// 10% of the potential nodes, at least 100, at most all of them.
func TestNumCandidates(t *testing.T) {
	for _, c := range []struct{ potential, want int }{
		{0, 0}, {1, 1}, {99, 99}, {100, 100}, {500, 100}, {1000, 100}, {1001, 100}, {2000, 200}, {5000, 500},
	} {
		if got := numCandidates(c.potential); got != c.want {
			t.Errorf("numCandidates(%d) = %d, want %d", c.potential, got, c.want)
		}
	}
}
