package endpointslice

import (
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func trackedSlice(uid string, gen int64) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Generation: gen}}
}

func TestTrackerStale(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := newTracker(func() time.Time { return now })
	const svc = "ns/web"
	if tr.stale(svc, nil) {
		t.Fatal("nothing written: a cache cannot be stale")
	}
	tr.wrote(svc, trackedSlice("a", 1))
	if !tr.stale(svc, nil) {
		t.Error("a created slice missing from the cache: stale")
	}
	if tr.stale(svc, []*discoveryv1.EndpointSlice{trackedSlice("a", 1)}) {
		t.Error("the created slice is cached: not stale")
	}
	tr.wrote(svc, trackedSlice("a", 2))
	if !tr.stale(svc, []*discoveryv1.EndpointSlice{trackedSlice("a", 1)}) {
		t.Error("cached generation older than written: stale")
	}
	tr.deleted(svc, trackedSlice("a", 2))
	if !tr.stale(svc, []*discoveryv1.EndpointSlice{trackedSlice("a", 2)}) {
		t.Error("a deleted slice still cached: stale")
	}
	if tr.stale(svc, nil) {
		t.Error("a deleted slice gone from the cache: not stale")
	}
	tr.gone(svc, "a")
	tr.wrote(svc, trackedSlice("b", 1))
	tr.gone(svc, "b") // someone else deleted it
	if tr.stale(svc, nil) {
		t.Error("a slice the informer saw deleted is no longer waited for")
	}
	tr.wrote(svc, trackedSlice("c", 1))
	if tr.stale("ns/other", nil) {
		t.Error("expectations are per Service")
	}
	now = now.Add(expectationTTL + time.Second)
	if tr.stale(svc, nil) {
		t.Error("an expectation older than its TTL is dropped")
	}
}
