package expectations

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Timeout is how long unobserved expectations block an owner before the controller acts anyway
// (as in Kubernetes).
const Timeout = 5 * time.Minute

// Pods records, per owner key, the pod creations and deletions the controller made and has not
// yet seen in its cache. It is safe for concurrent use.
type Pods struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*expected
}

type expected struct {
	adds int
	dels map[string]bool
	at   time.Time
}

// New returns empty expectations timed by c.
func New(c clock.PassiveClock) *Pods {
	return &Pods{clock: c, m: map[string]*expected{}}
}

// Satisfied reports whether everything expected for key was observed (or the expectations
// expired).
func (e *Pods) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.m[key]
	if x == nil || (x.adds <= 0 && len(x.dels) == 0) {
		return true
	}
	return e.clock.Since(x.at) > Timeout
}

// Expect replaces key's expectations with adds creations and the deletions of pods (their keys).
func (e *Pods) Expect(key string, adds int, pods []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expected{adds: adds, dels: map[string]bool{}, at: e.clock.Now()}
	for _, p := range pods {
		x.dels[p] = true
	}
	e.m[key] = x
}

// CreationObserved counts one expected creation for key as seen (or as never to come).
func (e *Pods) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil {
		x.adds--
	}
}

// DeletionObserved counts the expected deletion of pod for key as seen.
func (e *Pods) DeletionObserved(key, pod string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil {
		delete(x.dels, pod)
	}
}

// Forget drops key's expectations (its owner is gone).
func (e *Pods) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
