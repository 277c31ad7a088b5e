package kubelet

import (
	"sync"
	"time"
)

// backoff tracks the crash-loop back-off of each container (key: pod UID +
// container name): the first restart waits base, every later one twice as
// long, up to max; a container that ran for 2×max without being restarted
// starts again from base.
type backoff struct {
	base, max time.Duration
	mu        sync.Mutex
	entries   map[string]*backoffEntry
}

type backoffEntry struct {
	// delay is the wait before the next restart.
	delay time.Duration
	// exited is the ID of the exited container the wait is for, and
	// notBefore when it ends.
	exited    string
	notBefore time.Time
	// lastRestart is when the container was last restarted.
	lastRestart time.Time
}

func newBackoff(base, max time.Duration) *backoff {
	return &backoff{base: base, max: max, entries: map[string]*backoffEntry{}}
}

// wait returns how long the restart of the exited container id must still
// wait at now (0: restart now). The wait starts when the exit is first seen.
func (b *backoff) wait(key, id string, now time.Time) (remaining, delay time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil {
		e = &backoffEntry{delay: b.base}
		b.entries[key] = e
	}
	if e.exited != id {
		if !e.lastRestart.IsZero() && now.Sub(e.lastRestart) > 2*b.max {
			e.delay = b.base
		}
		e.exited, e.notBefore = id, now.Add(e.delay)
	}
	if now.Before(e.notBefore) {
		return e.notBefore.Sub(now), e.delay
	}
	return 0, e.delay
}

// restarted records a restart at now: the next wait doubles.
func (b *backoff) restarted(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil {
		e = &backoffEntry{delay: b.base}
		b.entries[key] = e
	}
	e.lastRestart = now
	e.delay *= 2
	if e.delay > b.max {
		e.delay = b.max
	}
}

// forget drops every entry of a pod.
func (b *backoff) forget(keys []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.entries, k)
	}
}
