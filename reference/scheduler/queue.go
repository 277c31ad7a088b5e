package scheduler

import (
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
)

// queue holds the pods waiting for a node. A pod is in exactly one of:
// active (waiting for the scheduling loop), unschedulable (parked until the
// cluster changes), or in flight (popped, being scheduled). moves counts the
// cluster changes that wake parked pods; a pod that fails while a change
// happened during its attempt is re-queued at once, so no wake-up is lost.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	active []string
	// pods is the latest object of every pod the queue knows.
	pods          map[string]*corev1.Pod
	inActive      map[string]bool
	unschedulable map[string]bool
	inFlight      map[string]bool
	// podWaiters holds the parked pods that a filter rejected because of
	// other pods (inter-pod affinity, topology spread): a pod bound or
	// relabelled wakes them too.
	podWaiters map[string]bool
	// binding holds the pods handed to binding, by UID, until the informer
	// shows them bound or gone: stale pending versions of them are ignored.
	binding map[types.UID]bool
	moves   stamp
	closed  bool
}

// stamp counts the cluster changes that wake parked pods: all of them
// (nodes, pods gone) and pods bound or relabelled.
type stamp struct{ all, pods uint64 }

func newQueue() *queue {
	q := &queue{
		pods:          map[string]*corev1.Pod{},
		inActive:      map[string]bool{},
		unschedulable: map[string]bool{},
		podWaiters:    map[string]bool{},
		inFlight:      map[string]bool{},
		binding:       map[types.UID]bool{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func key(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// add records a new or changed pending pod. A parked pod goes back to
// active only when its spec changed (a status update alone, like the
// scheduler's own PodScheduled condition, does not wake it).
func (q *queue) add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.binding[pod.UID] {
		return
	}
	k := key(pod)
	old := q.pods[k]
	q.pods[k] = pod
	switch {
	case q.inActive[k], q.inFlight[k]:
	case q.unschedulable[k]:
		if old == nil || old.UID != pod.UID || !equality.Semantic.DeepEqual(old.Spec, pod.Spec) ||
			(q.podWaiters[k] && !maps.Equal(old.Labels, pod.Labels)) {
			q.unparkLocked(k)
			q.pushLocked(k)
		}
	default:
		q.pushLocked(k)
	}
}

func (q *queue) pushLocked(k string) {
	q.inActive[k] = true
	q.active = append(q.active, k)
	q.cond.Signal()
}

// remove forgets a pod that was bound or deleted.
func (q *queue) remove(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.binding, pod.UID)
	k := key(pod)
	if cur, ok := q.pods[k]; ok && cur.UID == pod.UID {
		delete(q.pods, k)
		q.unparkLocked(k)
	}
}

func (q *queue) unparkLocked(k string) {
	delete(q.unschedulable, k)
	delete(q.podWaiters, k)
}

// pop blocks until a pod is active and returns it with the move count at
// that moment; ok is false once the queue is closed.
func (q *queue) pop() (pod *corev1.Pod, moves stamp, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.active) > 0 {
			k := q.active[0]
			q.active[0] = ""
			q.active = q.active[1:]
			delete(q.inActive, k)
			p, exists := q.pods[k]
			if !exists {
				continue // bound or deleted while waiting
			}
			q.inFlight[k] = true
			return p, q.moves, true
		}
		if q.closed {
			return nil, stamp{}, false
		}
		q.cond.Wait()
	}
}

// binding ends an attempt that handed the pod to binding.
func (q *queue) bindingStarted(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := key(pod)
	delete(q.inFlight, k)
	q.binding[pod.UID] = true
	if cur, ok := q.pods[k]; ok && cur.UID == pod.UID {
		delete(q.pods, k)
	}
}

// parkUnschedulable ends a failed attempt: the pod waits for the next
// cluster change, or is re-queued now if one happened since moves. A pod
// parked onPodChange also wakes when a pod is bound or relabelled.
func (q *queue) parkUnschedulable(pod *corev1.Pod, moves stamp, onPodChange bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := key(pod)
	delete(q.inFlight, k)
	cur, ok := q.pods[k]
	if !ok || cur.UID != pod.UID {
		return
	}
	if q.moves.all != moves.all || (onPodChange && q.moves.pods != moves.pods) {
		q.pushLocked(k)
		return
	}
	q.unschedulable[k] = true
	if onPodChange {
		q.podWaiters[k] = true
	}
}

// bindingFailed puts a pod whose binding failed back to active.
func (q *queue) bindingFailed(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.binding[pod.UID] {
		return // bound or deleted meanwhile
	}
	delete(q.binding, pod.UID)
	k := key(pod)
	if _, ok := q.pods[k]; !ok {
		q.pods[k] = pod
	}
	if !q.inActive[k] && !q.inFlight[k] {
		q.unparkLocked(k)
		q.pushLocked(k)
	}
}

// moveAll wakes every parked pod: the cluster changed in a way that may
// make them fit.
func (q *queue) moveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moves.all++
	for k := range q.unschedulable {
		q.unparkLocked(k)
		q.pushLocked(k)
	}
}

// movePodWaiters wakes the parked pods that wait for other pods: a pod was
// bound, or a bound pod's labels changed.
func (q *queue) movePodWaiters() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moves.pods++
	for k := range q.podWaiters {
		q.unparkLocked(k)
		q.pushLocked(k)
	}
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// after runs f after d unless stop closes first.
func after(d time.Duration, stop <-chan struct{}, f func()) {
	go func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-stop:
		}
	}()
}
