package kubelet

import (
	"context"
	"sort"
	"sync"
)

// startGate bounds how many pods create sandboxes and containers in the runtime at once and
// lets the oldest pod go first. A burst of pods started all at once shares the runtime (CPU,
// shim and CNI set-up) evenly, so that every pod of the burst becomes Running at the end of
// it; started a few at a time in arrival order, the first ones run early and the runtime
// spends less on contention. Only the runtime calls that create pods and containers pass the
// gate: image pulls, hooks and probes do not wait in it.
type startGate struct {
	mu      sync.Mutex
	free    int
	waiters []*gateWaiter
}

type gateWaiter struct {
	seq   uint64
	ready chan struct{}
}

// newStartGate returns a gate of n slots; n ≤ 0 means no bound (a nil gate).
func newStartGate(n int) *startGate {
	if n <= 0 {
		return nil
	}
	return &startGate{free: n}
}

// acquire waits for a slot, given to the waiter of the smallest seq first. It returns
// ctx's error when ctx ends first.
func (g *startGate) acquire(ctx context.Context, seq uint64) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	if g.free > 0 && len(g.waiters) == 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	w := &gateWaiter{seq: seq, ready: make(chan struct{})}
	i := sort.Search(len(g.waiters), func(i int) bool { return g.waiters[i].seq > seq })
	g.waiters = append(g.waiters, nil)
	copy(g.waiters[i+1:], g.waiters[i:])
	g.waiters[i] = w
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, x := range g.waiters {
			if x == w {
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// The slot was handed over as ctx ended: pass it on.
		g.releaseLocked()
		return ctx.Err()
	}
}

// release frees a slot acquired before.
func (g *startGate) release() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked()
}

func (g *startGate) releaseLocked() {
	if len(g.waiters) > 0 {
		w := g.waiters[0]
		g.waiters = g.waiters[1:]
		close(w.ready)
		return
	}
	g.free++
}
