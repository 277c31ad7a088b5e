package job

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// expectationsTimeout is how long unobserved expectations block a Job before the controller
// acts anyway (as in Kubernetes).
const expectationsTimeout = 5 * time.Minute

// expectations records, per Job key, the pod creations and deletions the controller made and
// has not yet seen in its cache, and the pods whose tracking finalizer it removed.
type expectations struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*expected
	// rmFinalizer holds the UIDs of pods whose finalizer removal the cache has not shown yet:
	// they were counted already.
	rmFinalizer map[types.UID]bool
}

type expected struct {
	adds int
	dels map[string]bool
	at   time.Time
}

func newExpectations(c clock.PassiveClock) *expectations {
	return &expectations{clock: c, m: map[string]*expected{}, rmFinalizer: map[types.UID]bool{}}
}

func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.m[key]
	if x == nil || (x.adds <= 0 && len(x.dels) == 0) {
		return true
	}
	return e.clock.Since(x.at) > expectationsTimeout
}

func (e *expectations) expect(key string, adds int, pods []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expected{adds: adds, dels: map[string]bool{}, at: e.clock.Now()}
	for _, p := range pods {
		x.dels[p] = true
	}
	e.m[key] = x
}

func (e *expectations) creationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil {
		x.adds--
	}
}

func (e *expectations) deletionObserved(key, pod string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil {
		delete(x.dels, pod)
	}
}

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}

func (e *expectations) finalizerRemoved(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rmFinalizer[uid] = true
}

// finalizerGone is called when the cache shows the pod without the finalizer (or deleted).
func (e *expectations) finalizerGone(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.rmFinalizer, uid)
}

func (e *expectations) removingFinalizer(uid types.UID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rmFinalizer[uid]
}
