package endpointslice

import (
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// deletionExpected marks a slice the controller deleted and its informer
// has not yet seen go.
const deletionExpected = -1

// expectationTTL bounds how long a write is waited for: a slice created and
// deleted by someone else before the informer saw either (a relist shows
// neither) must not hold its Service's syncs back for ever.
const expectationTTL = 30 * time.Second

type expectation struct {
	generation int64
	at         time.Time
}

// tracker remembers, per Service, the generation of every slice the
// controller wrote (or that it deleted one), so that a sync working from an
// informer cache that has not yet seen those writes waits instead of acting
// on it: a stale cache would make it create a second slice for the same
// endpoints and later delete one of the pair — a slice a client may just
// have listed. Kubernetes' EndpointSlice controller keeps the same kind of
// record.
type tracker struct {
	mu       sync.Mutex
	now      func() time.Time
	expected map[string]map[types.UID]expectation // service key → slice UID → what was written
}

func newTracker(now func() time.Time) *tracker {
	return &tracker{now: now, expected: map[string]map[types.UID]expectation{}}
}

// wrote records a slice the controller created or updated.
func (t *tracker) wrote(svcKey string, s *discoveryv1.EndpointSlice) {
	t.set(svcKey, s.UID, s.Generation)
}

// deleted records a slice the controller deleted.
func (t *tracker) deleted(svcKey string, s *discoveryv1.EndpointSlice) {
	t.set(svcKey, s.UID, deletionExpected)
}

func (t *tracker) set(svcKey string, uid types.UID, gen int64) {
	if uid == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.expected[svcKey]
	if m == nil {
		m = map[types.UID]expectation{}
		t.expected[svcKey] = m
	}
	m[uid] = expectation{generation: gen, at: t.now()}
}

// gone forgets a slice the informer reported deleted, whoever deleted it.
func (t *tracker) gone(svcKey string, uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.expected[svcKey]; m != nil {
		delete(m, uid)
		if len(m) == 0 {
			delete(t.expected, svcKey)
		}
	}
}

// forget drops everything recorded for a Service that no longer exists.
func (t *tracker) forget(svcKey string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.expected, svcKey)
}

// stale reports whether the cached slices of a Service lag behind the
// controller's own writes: a slice it created is missing, one it deleted is
// still there, or one it updated shows an older generation.
func (t *tracker) stale(svcKey string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.expected[svcKey]
	now := t.now()
	for uid, e := range m {
		if now.Sub(e.at) > expectationTTL {
			delete(m, uid)
		}
	}
	if len(m) == 0 {
		delete(t.expected, svcKey)
		return false
	}
	seen := make(map[types.UID]bool, len(cached))
	for _, s := range cached {
		seen[s.UID] = true
		e, ok := m[s.UID]
		if !ok {
			continue
		}
		if e.generation == deletionExpected || s.Generation < e.generation {
			return true
		}
	}
	for uid, e := range m {
		if e.generation != deletionExpected && !seen[uid] {
			return true
		}
	}
	return false
}
