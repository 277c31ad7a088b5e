package kubelet

import (
	"context"
	"testing"
	"time"
)

// TestStartGateOldestFirst: with the gate full, the waiter of the smallest seq gets the next
// slot whatever the order the waiters came in, and a waiter whose context ends leaves the
// queue.
func TestStartGateOldestFirst(t *testing.T) {
	g := newStartGate(1)
	ctx := t.Context()
	if err := g.acquire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	order := make(chan uint64, 3)
	gone, cancel := context.WithCancel(ctx)
	for _, seq := range []uint64{9, 5, 7} {
		c := ctx
		if seq == 5 {
			c = gone
		}
		go func() {
			if g.acquire(c, seq) == nil {
				order <- seq
				g.release()
			}
		}()
		// Let each waiter queue before the next (the order of arrival is 9, 5, 7).
		for deadline := time.Now().Add(5 * time.Second); ; {
			g.mu.Lock()
			n := len(g.waiters)
			g.mu.Unlock()
			if n > 0 && (seq != 5 && seq != 7 || n >= 2 && seq == 5 || n >= 3) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiter %d did not queue", seq)
			}
			time.Sleep(time.Millisecond)
		}
	}
	cancel() // 5 gives up
	for deadline := time.Now().Add(5 * time.Second); ; {
		g.mu.Lock()
		n := len(g.waiters)
		g.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled waiter stayed in the queue")
		}
		time.Sleep(time.Millisecond)
	}
	g.release()
	if a, b := <-order, <-order; a != 7 || b != 9 {
		t.Fatalf("slots went to %d then %d, want 7 then 9", a, b)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		g.mu.Lock()
		free, n := g.free, len(g.waiters)
		g.mu.Unlock()
		if free == 1 && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gate left with %d free and %d waiters, want 1 and 0", free, n)
		}
		time.Sleep(time.Millisecond)
	}
}
