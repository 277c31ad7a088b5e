package proxy

import (
	"context"
	"sync"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Recorder is a dataplane that programs nothing and remembers the last state it was given: for
// unit tests of the proxy's control loop.
type Recorder struct {
	mu      sync.Mutex
	last    interfaces.ProxyState
	syncs   int
	cleaned bool
	changed chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

var _ interfaces.ProxyDataplane = (*Recorder)(nil)

// Sync records state.
func (r *Recorder) Sync(_ context.Context, state interfaces.ProxyState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.cleaned = state, false
	r.syncs++
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// Cleanup records that the dataplane was cleaned.
func (r *Recorder) Cleanup(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleaned = true
	r.last = interfaces.ProxyState{}
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// Last returns the last state, how many Syncs there were and whether Cleanup came after them.
func (r *Recorder) Last() (interfaces.ProxyState, int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.syncs, r.cleaned
}

// WaitFor blocks until cond holds for the last state or ctx ends.
func (r *Recorder) WaitFor(ctx context.Context, cond func(interfaces.ProxyState) bool) error {
	for {
		r.mu.Lock()
		ok, ch := cond(r.last), r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
