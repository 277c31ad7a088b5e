package job

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/clusterkit/clusterkit/reference/controllers/expectations"
)

// jobExpectations are the pod creations and deletions the controller expects to see in its
// cache, and the pods whose tracking finalizer it removed and the cache still shows.
type jobExpectations struct {
	*expectations.Pods
	mu sync.Mutex
	// rmFinalizer holds the UIDs of pods whose finalizer removal the cache has not shown yet:
	// they were counted already.
	rmFinalizer map[types.UID]bool
}

func newExpectations(c clock.PassiveClock) *jobExpectations {
	return &jobExpectations{Pods: expectations.New(c), rmFinalizer: map[types.UID]bool{}}
}

func (e *jobExpectations) finalizerRemoved(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rmFinalizer[uid] = true
}

// finalizerGone is called when the cache shows the pod without the finalizer (or deleted).
func (e *jobExpectations) finalizerGone(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.rmFinalizer, uid)
}

func (e *jobExpectations) removingFinalizer(uid types.UID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rmFinalizer[uid]
}
