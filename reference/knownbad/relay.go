package knownbad

import (
	"sync"

	"github.com/clusterkit/clusterkit/interfaces"
)

// relayWatcher passes a watch's events through a function that may drop,
// hold or reorder them.
type relayWatcher struct {
	inner  interfaces.Watcher
	events chan interfaces.Event
	once   sync.Once
	stop   chan struct{}
}

func relay(w interfaces.Watcher, pass func(interfaces.Event, chan<- interfaces.Event)) interfaces.Watcher {
	r := &relayWatcher{inner: w, events: make(chan interfaces.Event), stop: make(chan struct{})}
	go func() {
		defer close(r.events)
		out := make(chan interfaces.Event, 2)
		for ev := range w.Events() {
			pass(ev, out)
			for len(out) > 0 {
				select {
				case r.events <- <-out:
				case <-r.stop:
					return
				}
			}
		}
	}()
	return r
}

func (r *relayWatcher) Events() <-chan interfaces.Event { return r.events }
func (r *relayWatcher) Err() error                      { return r.inner.Err() }
func (r *relayWatcher) Stop() {
	r.once.Do(func() { close(r.stop) })
	r.inner.Stop()
}
