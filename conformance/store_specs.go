package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Sources of the store behaviours.
const (
	srcStoreContract = "interfaces.Store contract (etcd v3 KV semantics)"
	srcSeedEtcd      = "seed: \"etcd ... holds the entire state of the cluster: every object you've created, every status update\""
	srcSeedBackup    = "seed: \"If etcd is lost without a backup, the cluster's state is gone\""
	srcWatchProgress = "etcd: watch progress requests (WatchProgressRequest, clientv3 Watcher.RequestProgress), which kube-apiserver's watch cache uses to serve consistent reads (KEP-2340)"
	srcWatchCache    = "Kubernetes API concepts: efficient detection of changes (watch from a resourceVersion, 410 Gone)"
	srcOptimistic    = "Kubernetes API concepts: resource versions and optimistic concurrency"
	srcChunking      = "Kubernetes API concepts: retrieving large results sets in chunks (consistent pages)"
)

func storeSpecs() []spec[*storeEnv] {
	return []spec[*storeEnv]{
		{Behavior{ID: "store.create.new-key", Component: "store", Source: srcStoreContract,
			Must: "Create of a new key MUST store the value and return a revision that Get then reports as both CreateRevision and ModRevision"},
			specCreateNewKey},
		{Behavior{ID: "store.create.existing-key", Component: "store", Source: srcStoreContract,
			Must: "Create of an existing key MUST fail with AlreadyExists and leave the stored value unchanged"},
			specCreateExisting},
		{Behavior{ID: "store.get.missing-key", Component: "store", Source: srcStoreContract,
			Must: "Get of a missing key MUST fail with NotFound, never return an empty value with a nil error"},
			specGetMissing},
		{Behavior{ID: "store.update.compare-and-swap", Component: "store", Source: srcOptimistic,
			Must: "Update MUST succeed only when the expected revision equals the key's current ModRevision and otherwise fail with Conflict, changing nothing"},
			specUpdateCAS},
		{Behavior{ID: "store.update.missing-key", Component: "store", Source: srcStoreContract,
			Must: "Update of a missing key MUST fail with NotFound and MUST NOT create the key"},
			specUpdateMissing},
		{Behavior{ID: "store.delete.last-value", Component: "store", Source: srcStoreContract,
			Must: "Delete MUST remove the key and return its last value, and a second Delete of it MUST fail with NotFound"},
			specDeleteLastValue},
		{Behavior{ID: "store.delete.precondition", Component: "store", Source: srcOptimistic,
			Must: "Delete with a stale expected revision MUST fail with Conflict and keep the key"},
			specDeletePrecondition},
		{Behavior{ID: "store.revision.monotonic", Component: "store", Source: srcStoreContract,
			Must: "every write MUST return a revision greater than all earlier ones and CurrentRevision MUST report the latest"},
			specRevisionMonotonic},
		{Behavior{ID: "store.update.concurrent-writers", Component: "store", Source: srcOptimistic,
			Must: "concurrent writers incrementing one counter by read and compare-and-swap MUST lose no update"},
			specConcurrentWriters},
		{Behavior{ID: "store.list.prefix-order", Component: "store", Source: srcStoreContract,
			Must: "List MUST return exactly the keys under the prefix, in ascending key order, with their current values"},
			specListPrefix},
		{Behavior{ID: "store.list.at-revision", Component: "store", Source: srcWatchCache,
			Must: "List at an earlier revision MUST return the keys and values exactly as they were at that revision"},
			specListAtRevision},
		{Behavior{ID: "store.list.pagination", Component: "store", Source: srcChunking,
			Must: "paging a List with Limit and Continue MUST return every key exactly once, all pages as of the first page's revision, even when writes happen between pages"},
			specListPagination},
		{Behavior{ID: "store.list.bad-continue", Component: "store", Source: srcChunking,
			Must: "List with a malformed continue token MUST fail with BadRequest"},
			specListBadContinue},
		{Behavior{ID: "store.list.compacted", Component: "store", Source: srcWatchCache,
			Must: "List at a compacted revision MUST fail with Expired while current values stay readable"},
			specListCompacted},
		{Behavior{ID: "store.list.compacted-continue", Component: "store", Source: srcChunking,
			Must: "a List page whose continue token's revision was compacted MUST fail with Expired carrying a continue token that resumes after the same key at the latest revision, and the pages from that token MUST hold every later key once, as they are now"},
			specListCompactedContinue},
		{Behavior{ID: "store.watch.order", Component: "store", Source: srcWatchCache,
			Must: "a Watch MUST deliver every change under its prefix exactly once, in revision order, with its type and previous value, and nothing outside the prefix"},
			specWatchOrder},
		{Behavior{ID: "store.watch.resume", Component: "store", Source: srcWatchCache,
			Must: "a Watch from an old revision MUST replay every change after that revision and then continue with new ones"},
			specWatchResume},
		{Behavior{ID: "store.watch.progress", Component: "store", Source: srcWatchProgress, Needs: []Capability{WatchProgress},
			Must: "a watch asked for progress MUST deliver, after every change it delivered, a progress event at or above the store's revision at the time of the request, even when the last writes were outside its prefix"},
			specWatchProgress},
		{Behavior{ID: "store.watch.from-now", Component: "store", Source: srcWatchCache,
			Must: "a Watch from revision 0 MUST deliver only changes made after it started"},
			specWatchFromNow},
		{Behavior{ID: "store.watch.expired", Component: "store", Source: srcWatchCache,
			Must: "a Watch from a compacted revision MUST fail with Expired, at once or as its terminal error"},
			specWatchExpired},
		{Behavior{ID: "store.durability.restart", Component: "store", Source: srcSeedEtcd, Needs: []Capability{Durable},
			Must: "every acknowledged write MUST be readable after the store is closed and reopened, and revisions MUST keep increasing"},
			specDurability},
		{Behavior{ID: "store.snapshot.round-trip", Component: "store", Source: srcSeedBackup, Needs: []Capability{Snapshots},
			Must: "a store restored from a snapshot MUST hold exactly the keys and values saved, and nothing written after the snapshot"},
			specSnapshotRoundTrip},
	}
}

func specCreateNewKey(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	before, err := e.store.CurrentRevision(ctx)
	ok(g, err, "CurrentRevision")
	rev, err := e.store.Create(ctx, "/a/one", []byte("v1"))
	ok(g, err, "Create of a new key")
	g.Expect(rev).To(gomega.BeNumerically(">", before), "the revision of a write must exceed the revision before it")
	kv, err := e.store.Get(ctx, "/a/one")
	ok(g, err, "Get after Create")
	g.Expect(kv.Key).To(gomega.Equal("/a/one"))
	g.Expect(string(kv.Value)).To(gomega.Equal("v1"))
	g.Expect(kv.CreateRevision).To(gomega.Equal(rev), "CreateRevision")
	g.Expect(kv.ModRevision).To(gomega.Equal(rev), "ModRevision")
}

func specCreateExisting(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	rev, err := e.store.Create(ctx, "/a/one", []byte("v1"))
	ok(g, err, "first Create")
	_, err = e.store.Create(ctx, "/a/one", []byte("v2"))
	expectClass(g, err, alreadyExists, "second Create of the same key")
	kv, err := e.store.Get(ctx, "/a/one")
	ok(g, err, "Get")
	g.Expect(string(kv.Value)).To(gomega.Equal("v1"), "a failed Create must not change the value")
	g.Expect(kv.ModRevision).To(gomega.Equal(rev))
}

func specGetMissing(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	_, err := e.store.Get(ctx, "/a/missing")
	expectClass(g, err, notFound, "Get of a missing key")
	_, err = e.store.Create(ctx, "/a/present", []byte("x"))
	ok(g, err, "Create")
	_, err = e.store.Get(ctx, "/a/pres")
	expectClass(g, err, notFound, "Get of a prefix of an existing key")
}

func specUpdateCAS(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	rev1, err := e.store.Create(ctx, "/a/k", []byte("v1"))
	ok(g, err, "Create")
	rev2, err := e.store.Update(ctx, "/a/k", []byte("v2"), rev1)
	ok(g, err, "Update with the current revision")
	g.Expect(rev2).To(gomega.BeNumerically(">", rev1))
	for _, stale := range []int64{rev1, rev2 + 1000} {
		_, err = e.store.Update(ctx, "/a/k", []byte("lost"), stale)
		expectClass(g, err, conflict, fmt.Sprintf("Update with expected revision %d while the key is at %d", stale, rev2))
	}
	kv, err := e.store.Get(ctx, "/a/k")
	ok(g, err, "Get")
	g.Expect(string(kv.Value)).To(gomega.Equal("v2"), "a failed Update must not change the value")
	g.Expect(kv.ModRevision).To(gomega.Equal(rev2))
	g.Expect(kv.CreateRevision).To(gomega.Equal(rev1), "Update must keep CreateRevision")
}

func specUpdateMissing(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	_, err := e.store.Update(ctx, "/a/ghost", []byte("v"), 0)
	expectClass(g, err, notFound, "unconditional Update of a missing key")
	_, err = e.store.Update(ctx, "/a/ghost", []byte("v"), 5)
	expectClass(g, err, notFound, "conditional Update of a missing key")
	_, err = e.store.Get(ctx, "/a/ghost")
	expectClass(g, err, notFound, "Get after a failed Update")
}

func specDeleteLastValue(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	rev1, err := e.store.Create(ctx, "/a/k", []byte("v1"))
	ok(g, err, "Create")
	_, err = e.store.Update(ctx, "/a/k", []byte("v2"), rev1)
	ok(g, err, "Update")
	kv, err := e.store.Delete(ctx, "/a/k", 0)
	ok(g, err, "Delete")
	g.Expect(string(kv.Value)).To(gomega.Equal("v2"), "Delete must return the last value")
	cur, err := e.store.CurrentRevision(ctx)
	ok(g, err, "CurrentRevision")
	g.Expect(kv.ModRevision).To(gomega.Equal(cur), "Delete's ModRevision must be the revision of the delete")
	_, err = e.store.Get(ctx, "/a/k")
	expectClass(g, err, notFound, "Get after Delete")
	_, err = e.store.Delete(ctx, "/a/k", 0)
	expectClass(g, err, notFound, "second Delete")
	_, err = e.store.Create(ctx, "/a/k", []byte("again"))
	ok(g, err, "Create after Delete")
}

func specDeletePrecondition(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	rev1, err := e.store.Create(ctx, "/a/k", []byte("v1"))
	ok(g, err, "Create")
	rev2, err := e.store.Update(ctx, "/a/k", []byte("v2"), rev1)
	ok(g, err, "Update")
	_, err = e.store.Delete(ctx, "/a/k", rev1)
	expectClass(g, err, conflict, "Delete with a stale revision")
	kv, err := e.store.Get(ctx, "/a/k")
	ok(g, err, "Get after a refused Delete")
	g.Expect(string(kv.Value)).To(gomega.Equal("v2"))
	_, err = e.store.Delete(ctx, "/a/k", rev2)
	ok(g, err, "Delete with the current revision")
}

func specRevisionMonotonic(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	var last int64
	check := func(rev int64, what string) {
		g.ExpectWithOffset(1, rev).To(gomega.BeNumerically(">", last), "%s must return a revision above %d", what, last)
		last = rev
		cur, err := e.store.CurrentRevision(ctx)
		ok(g, err, "CurrentRevision")
		g.ExpectWithOffset(1, cur).To(gomega.Equal(rev), "CurrentRevision after %s", what)
	}
	for i := range 5 {
		key := fmt.Sprintf("/m/%d", i)
		rev, err := e.store.Create(ctx, key, []byte("a"))
		ok(g, err, "Create")
		check(rev, "Create")
		rev, err = e.store.Update(ctx, key, []byte("b"), rev)
		ok(g, err, "Update")
		check(rev, "Update")
		kv, err := e.store.Delete(ctx, key, 0)
		ok(g, err, "Delete")
		check(kv.ModRevision, "Delete")
	}
}

func specConcurrentWriters(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	const writers, increments = 8, 25
	_, err := e.store.Create(ctx, "/counter", []byte("0"))
	ok(g, err, "Create counter")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range increments {
				for {
					kv, err := e.store.Get(ctx, "/counter")
					if err != nil {
						errs <- err
						return
					}
					n, err := strconv.Atoi(string(kv.Value))
					if err != nil {
						errs <- err
						return
					}
					// Hold the read a moment, so the writers' read-modify-write
					// windows overlap even on a machine that runs them one by one.
					time.Sleep(time.Millisecond)
					_, err = e.store.Update(ctx, "/counter", []byte(strconv.Itoa(n+1)), kv.ModRevision)
					if err == nil {
						break
					}
					if !conflict.is(err) {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(g, err, "a writer failed")
	}
	kv, err := e.store.Get(ctx, "/counter")
	ok(g, err, "Get counter")
	g.Expect(string(kv.Value)).To(gomega.Equal(strconv.Itoa(writers*increments)),
		"%d writers x %d compare-and-swap increments must all count", writers, increments)
}

// put creates or overwrites key.
func put(ctx context.Context, g gomega.Gomega, s interfaces.Store, key, value string) int64 {
	rev, err := s.Create(ctx, key, []byte(value))
	if err == nil {
		return rev
	}
	expectClass(g, err, alreadyExists, "Create")
	rev, err = s.Update(ctx, key, []byte(value), 0)
	ok(g, err, "Update")
	return rev
}

// contents lists prefix at rev (0 = latest) page by page with limit.
func contents(ctx context.Context, g gomega.Gomega, s interfaces.Store, prefix string, rev, limit int64) (map[string]string, []string, int64) {
	m := map[string]string{}
	var order []string
	opts := interfaces.ListOptions{Revision: rev, Limit: limit}
	var listRev int64
	for {
		res, err := s.List(ctx, prefix, opts)
		ok(g, err, "List")
		if listRev == 0 {
			listRev = res.Revision
		}
		g.Expect(res.Revision).To(gomega.Equal(listRev), "every page must report the first page's revision")
		for _, kv := range res.Items {
			g.Expect(m).NotTo(gomega.HaveKey(kv.Key), "key %s listed twice", kv.Key)
			m[kv.Key] = string(kv.Value)
			order = append(order, kv.Key)
		}
		if limit > 0 {
			g.Expect(int64(len(res.Items))).To(gomega.BeNumerically("<=", limit), "a page must hold at most Limit items")
		}
		if res.Continue == "" {
			return m, order, listRev
		}
		opts.Continue = res.Continue
		opts.Revision = 0
	}
}

func specListPrefix(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	for _, k := range []string{"/reg/pods/b", "/reg/pods/a", "/reg/pods/c/x", "/reg/podsx/a", "/reg/pod", "/other/pods/a"} {
		put(ctx, g, e.store, k, "v"+k)
	}
	_, err := e.store.Delete(ctx, "/reg/pods/c/x", 0)
	ok(g, err, "Delete")
	put(ctx, g, e.store, "/reg/pods/c/y", "new")
	m, order, _ := contents(ctx, g, e.store, "/reg/pods/", 0, 0)
	g.Expect(order).To(gomega.Equal([]string{"/reg/pods/a", "/reg/pods/b", "/reg/pods/c/y"}), "keys under /reg/pods/ in order")
	g.Expect(m["/reg/pods/a"]).To(gomega.Equal("v/reg/pods/a"))
	g.Expect(m["/reg/pods/c/y"]).To(gomega.Equal("new"))
	empty, _, _ := contents(ctx, g, e.store, "/nothing/", 0, 0)
	g.Expect(empty).To(gomega.BeEmpty(), "List of an empty prefix")
}

func specListAtRevision(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	put(ctx, g, e.store, "/r/a", "a1")
	put(ctx, g, e.store, "/r/b", "b1")
	rev := put(ctx, g, e.store, "/r/c", "c1")
	put(ctx, g, e.store, "/r/a", "a2")
	_, err := e.store.Delete(ctx, "/r/b", 0)
	ok(g, err, "Delete")
	put(ctx, g, e.store, "/r/d", "d1")
	then, _, listRev := contents(ctx, g, e.store, "/r/", rev, 0)
	g.Expect(listRev).To(gomega.Equal(rev), "List must report the revision it was asked for")
	g.Expect(then).To(gomega.Equal(map[string]string{"/r/a": "a1", "/r/b": "b1", "/r/c": "c1"}), "the state at revision %d", rev)
	now, _, _ := contents(ctx, g, e.store, "/r/", 0, 0)
	g.Expect(now).To(gomega.Equal(map[string]string{"/r/a": "a2", "/r/c": "c1", "/r/d": "d1"}), "the current state")
}

func specListPagination(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	want := map[string]string{}
	for i := range 23 {
		k := fmt.Sprintf("/p/%03d", i)
		put(ctx, g, e.store, k, "v1")
		want[k] = "v1"
	}
	res, err := e.store.List(ctx, "/p/", interfaces.ListOptions{Limit: 5})
	ok(g, err, "first page")
	g.Expect(res.Items).To(gomega.HaveLen(5))
	g.Expect(res.Continue).NotTo(gomega.BeEmpty(), "a page followed by more keys must carry a continue token")
	got := map[string]string{}
	for _, kv := range res.Items {
		got[kv.Key] = string(kv.Value)
	}
	// Writes between pages must not show in later pages.
	put(ctx, g, e.store, "/p/000a", "new")
	put(ctx, g, e.store, "/p/999", "new")
	put(ctx, g, e.store, "/p/020", "v2")
	_, err = e.store.Delete(ctx, "/p/021", 0)
	ok(g, err, "Delete between pages")
	cont := res.Continue
	for cont != "" {
		page, err := e.store.List(ctx, "/p/", interfaces.ListOptions{Limit: 5, Continue: cont})
		ok(g, err, "next page")
		g.Expect(page.Revision).To(gomega.Equal(res.Revision), "later pages must be read at the first page's revision")
		g.Expect(len(page.Items)).To(gomega.BeNumerically("<=", 5))
		for _, kv := range page.Items {
			g.Expect(got).NotTo(gomega.HaveKey(kv.Key), "key %s on two pages", kv.Key)
			got[kv.Key] = string(kv.Value)
		}
		cont = page.Continue
	}
	g.Expect(got).To(gomega.Equal(want), "the pages together must be the state at the first page's revision")
}

func specListBadContinue(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	put(ctx, g, e.store, "/b/a", "x")
	_, err := e.store.List(ctx, "/b/", interfaces.ListOptions{Limit: 1, Continue: "%%not-a-token%%"})
	expectClass(g, err, badRequest, "List with a malformed continue token")
}

func specListCompacted(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	old := put(ctx, g, e.store, "/c/a", "a1")
	put(ctx, g, e.store, "/c/b", "b1")
	put(ctx, g, e.store, "/c/a", "a2")
	cur := put(ctx, g, e.store, "/c/c", "c1")
	ok(g, e.store.Compact(ctx, cur), "Compact")
	_, err := e.store.List(ctx, "/c/", interfaces.ListOptions{Revision: old})
	expectClass(g, err, expired, fmt.Sprintf("List at revision %d after compacting to %d", old, cur))
	now, _, _ := contents(ctx, g, e.store, "/c/", 0, 0)
	g.Expect(now).To(gomega.Equal(map[string]string{"/c/a": "a2", "/c/b": "b1", "/c/c": "c1"}), "values current at the compaction")
	at, _, _ := contents(ctx, g, e.store, "/c/", cur, 0)
	g.Expect(at).To(gomega.Equal(now), "List at the compacted revision itself")
	ok(g, e.store.Compact(ctx, old), "Compact to an older revision is a no-op")
}

func specListCompactedContinue(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		put(ctx, g, e.store, "/k/"+k, "v1")
	}
	first, err := e.store.List(ctx, "/k/", interfaces.ListOptions{Limit: 2})
	ok(g, err, "first page")
	g.Expect(first.Continue).NotTo(gomega.BeEmpty(), "a page followed by more keys must carry a continue token")
	// Changes after the first page, then a compaction past its revision.
	put(ctx, g, e.store, "/k/c", "v2")
	put(ctx, g, e.store, "/k/f", "v1")
	cur := put(ctx, g, e.store, "/k/0", "v1") // before the first page's keys: not on a later page
	ok(g, e.store.Compact(ctx, cur), "Compact")
	_, err = e.store.List(ctx, "/k/", interfaces.ListOptions{Limit: 2, Continue: first.Continue})
	expectClass(g, err, expired, "the next page after its revision was compacted")
	var st apierrors.APIStatus
	g.Expect(errors.As(err, &st)).To(gomega.BeTrue(), "the Expired error must be a Status carrying a continue token: %v", err)
	cont := st.Status().ListMeta.Continue
	g.Expect(cont).NotTo(gomega.BeEmpty(), "the Expired error must carry an inconsistent continue token")
	got := map[string]string{}
	for cont != "" {
		page, err := e.store.List(ctx, "/k/", interfaces.ListOptions{Limit: 2, Continue: cont})
		ok(g, err, "a page of the inconsistent continuation")
		g.Expect(page.Revision).To(gomega.BeNumerically(">=", cur), "the continuation must be read at the latest revision")
		for _, kv := range page.Items {
			g.Expect(got).NotTo(gomega.HaveKey(kv.Key), "key %s on two pages", kv.Key)
			got[kv.Key] = string(kv.Value)
		}
		cont = page.Continue
	}
	g.Expect(got).To(gomega.Equal(map[string]string{"/k/c": "v2", "/k/d": "v1", "/k/e": "v1", "/k/f": "v1"}),
		"the continuation must hold the keys after the first page, as they are now")
}

// event is a comparable summary of a watch event.
type event struct {
	Type  interfaces.EventType
	Key   string
	Value string
	Prev  string
	Rev   int64
}

func summarize(ev interfaces.Event) event {
	return event{Type: ev.Type, Key: ev.KV.Key, Value: string(ev.KV.Value), Prev: string(ev.PrevValue), Rev: ev.KV.ModRevision}
}

// collect reads n events from w, failing when no event arrives for idle.
func collect(ctx context.Context, g gomega.Gomega, w interfaces.Watcher, n int, idle time.Duration) []event {
	var out []event
	for len(out) < n {
		select {
		case ev, open := <-w.Events():
			if !open {
				g.ExpectWithOffset(1, w.Err()).NotTo(gomega.HaveOccurred(), "the watch ended after %d of %d events", len(out), n)
				g.ExpectWithOffset(1, len(out)).To(gomega.Equal(n), "the watch ended early")
				return out
			}
			out = append(out, summarize(ev))
		case <-time.After(idle):
			g.ExpectWithOffset(1, out).To(gomega.HaveLen(n), "events received (none came for %s)", idle)
			return out
		case <-ctx.Done():
			g.ExpectWithOffset(1, ctx.Err()).NotTo(gomega.HaveOccurred())
		}
	}
	return out
}

// expectQuiet asserts that no further event arrives for a short while.
func expectQuiet(g gomega.Gomega, w interfaces.Watcher, d time.Duration) {
	select {
	case ev, open := <-w.Events():
		if open {
			g.ExpectWithOffset(1, summarize(ev)).To(gomega.BeNil(), "an unexpected event")
		}
	case <-time.After(d):
	}
}

func specWatchOrder(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	start, err := e.store.CurrentRevision(ctx)
	ok(g, err, "CurrentRevision")
	w, err := e.store.Watch(ctx, "/w/", start)
	ok(g, err, "Watch")
	defer w.Stop()
	// Concurrent writers on separate keys, plus noise outside the prefix.
	const writers, rounds = 4, 10
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			key := fmt.Sprintf("/w/%d", i)
			rev, err := e.store.Create(ctx, key, []byte("0"))
			if err != nil {
				return
			}
			for r := 1; r < rounds; r++ {
				if rev, err = e.store.Update(ctx, key, []byte(strconv.Itoa(r)), rev); err != nil {
					return
				}
			}
			_, _ = e.store.Delete(ctx, key, 0)
			_, _ = e.store.Create(ctx, fmt.Sprintf("/wx/%d", i), []byte("outside"))
		})
	}
	wg.Wait()
	want := writers * (rounds + 1)
	got := collect(ctx, g, w, want, 5*time.Second)
	expectQuiet(g, w, 200*time.Millisecond)
	last := start
	perKey := map[string][]event{}
	for _, ev := range got {
		g.Expect(ev.Rev).To(gomega.BeNumerically(">", last), "events must come in strictly increasing revision order: %+v after revision %d", ev, last)
		last = ev.Rev
		perKey[ev.Key] = append(perKey[ev.Key], ev)
	}
	g.Expect(perKey).To(gomega.HaveLen(writers), "events for exactly the keys under the prefix")
	for key, evs := range perKey {
		g.Expect(evs).To(gomega.HaveLen(rounds+1), "events of %s", key)
		g.Expect(evs[0].Type).To(gomega.Equal(interfaces.EventCreated), "first event of %s", key)
		g.Expect(evs[0].Value).To(gomega.Equal("0"))
		for r := 1; r < rounds; r++ {
			g.Expect(evs[r]).To(gomega.Equal(event{Type: interfaces.EventUpdated, Key: key, Value: strconv.Itoa(r), Prev: strconv.Itoa(r - 1), Rev: evs[r].Rev}),
				"update %d of %s", r, key)
		}
		del := evs[rounds]
		g.Expect(del.Type).To(gomega.Equal(interfaces.EventDeleted), "last event of %s", key)
		g.Expect(del.Prev).To(gomega.Equal(strconv.Itoa(rounds-1)), "a delete event carries the last value")
	}
}

func specWatchResume(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	r1 := put(ctx, g, e.store, "/h/a", "1")
	put(ctx, g, e.store, "/h/a", "2")
	put(ctx, g, e.store, "/h/b", "1")
	_, err := e.store.Delete(ctx, "/h/a", 0)
	ok(g, err, "Delete")
	w, err := e.store.Watch(ctx, "/h/", r1)
	ok(g, err, "Watch from an old revision")
	defer w.Stop()
	got := collect(ctx, g, w, 3, 5*time.Second)
	g.Expect([]interfaces.EventType{got[0].Type, got[1].Type, got[2].Type}).To(gomega.Equal(
		[]interfaces.EventType{interfaces.EventUpdated, interfaces.EventCreated, interfaces.EventDeleted}), "the replayed history")
	g.Expect(got[0].Rev).To(gomega.Equal(r1+1), "replay must start right after the requested revision")
	live := put(ctx, g, e.store, "/h/c", "live")
	more := collect(ctx, g, w, 1, 5*time.Second)
	g.Expect(more[0].Key).To(gomega.Equal("/h/c"))
	g.Expect(more[0].Rev).To(gomega.Equal(live))
}

func specWatchProgress(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	w, err := e.store.Watch(ctx, "/p/", 0)
	ok(g, err, "Watch from now")
	defer w.Stop()
	pw, isProgress := w.(interfaces.ProgressWatcher)
	g.Expect(isProgress).To(gomega.BeTrue(), "a store declaring WatchProgress must return watchers implementing interfaces.ProgressWatcher (got %T)", w)
	mine := put(ctx, g, e.store, "/p/a", "1")
	other := put(ctx, g, e.store, "/q/b", "2") // outside the prefix: only progress tells the watch about it
	ok(g, pw.RequestProgress(ctx), "RequestProgress")
	var seen []event
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-w.Events():
			g.Expect(open).To(gomega.BeTrue(), "the watch ended (%v) before answering the progress request", w.Err())
			if ev.Type != interfaces.EventProgress {
				seen = append(seen, summarize(ev))
				continue
			}
			g.Expect(seen).To(gomega.Equal([]event{{Type: interfaces.EventCreated, Key: "/p/a", Value: "1", Rev: mine}}),
				"every change under the prefix up to the progress event must come before it")
			g.Expect(ev.KV.ModRevision).To(gomega.BeNumerically(">=", other),
				"the progress event's revision must be at least the store's revision when progress was requested")
			return
		case <-deadline:
			g.Expect(fmt.Errorf("no progress event within 10s of RequestProgress (events seen: %v)", seen)).NotTo(gomega.HaveOccurred())
			return
		case <-ctx.Done():
			g.Expect(ctx.Err()).NotTo(gomega.HaveOccurred())
			return
		}
	}
}

func specWatchFromNow(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	put(ctx, g, e.store, "/n/old", "x")
	w, err := e.store.Watch(ctx, "/n/", 0)
	ok(g, err, "Watch from now")
	defer w.Stop()
	rev := put(ctx, g, e.store, "/n/new", "y")
	got := collect(ctx, g, w, 1, 5*time.Second)
	g.Expect(got[0]).To(gomega.Equal(event{Type: interfaces.EventCreated, Key: "/n/new", Value: "y", Rev: rev}),
		"the first event must be the first write after the watch started")
}

func specWatchExpired(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	old := put(ctx, g, e.store, "/x/a", "1")
	for i := range 5 {
		put(ctx, g, e.store, "/x/a", strconv.Itoa(i+2))
	}
	cur, err := e.store.CurrentRevision(ctx)
	ok(g, err, "CurrentRevision")
	ok(g, e.store.Compact(ctx, cur), "Compact")
	w, err := e.store.Watch(ctx, "/x/", old)
	if err != nil {
		expectClass(g, err, expired, "Watch from a compacted revision")
		return
	}
	defer w.Stop()
	select {
	case ev, open := <-w.Events():
		g.Expect(open).To(gomega.BeFalse(), "a watch from compacted revision %d delivered %+v instead of failing", old, summarize(ev))
		expectClass(g, w.Err(), expired, "the terminal error of a watch from a compacted revision")
	case <-time.After(10 * time.Second):
		g.Expect(fmt.Errorf("no error within 10s")).NotTo(gomega.HaveOccurred(), "a watch from a compacted revision must fail with Expired")
	}
}

func specDurability(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	want := map[string]string{}
	var last int64
	for i := range 50 {
		k := fmt.Sprintf("/d/%02d", i)
		last = put(ctx, g, e.store, k, "v"+strconv.Itoa(i))
		want[k] = "v" + strconv.Itoa(i)
	}
	last = put(ctx, g, e.store, "/d/07", "changed")
	want["/d/07"] = "changed"
	kv, err := e.store.Delete(ctx, "/d/08", 0)
	ok(g, err, "Delete")
	last = kv.ModRevision
	delete(want, "/d/08")
	e.reopen(ctx, g)
	got, _, _ := contents(ctx, g, e.store, "/d/", 0, 0)
	g.Expect(got).To(gomega.Equal(want), "every acknowledged write after a restart")
	cur, err := e.store.CurrentRevision(ctx)
	ok(g, err, "CurrentRevision after restart")
	g.Expect(cur).To(gomega.BeNumerically(">=", last), "the revision must not go back after a restart")
	rev := put(ctx, g, e.store, "/d/after", "x")
	g.Expect(rev).To(gomega.BeNumerically(">", last), "writes after a restart must get higher revisions")
}

func specSnapshotRoundTrip(ctx context.Context, g gomega.Gomega, e *storeEnv) {
	want := map[string]string{}
	for i := range 200 {
		k := fmt.Sprintf("/s/%03d", i)
		put(ctx, g, e.store, k, fmt.Sprintf("value-%d", i))
		want[k] = fmt.Sprintf("value-%d", i)
	}
	_, err := e.store.Delete(ctx, "/s/100", 0)
	ok(g, err, "Delete")
	delete(want, "/s/100")
	path := filepath.Join(filepath.Dir(e.dir), "snapshot.db")
	ok(g, e.h.SaveSnapshot(ctx, e.store, path), "SaveSnapshot")
	put(ctx, g, e.store, "/s/after-snapshot", "not in the snapshot")
	info, err := os.Stat(path)
	ok(g, err, "the snapshot file")
	g.Expect(info.Size()).To(gomega.BeNumerically(">", 0))
	dir := filepath.Join(filepath.Dir(e.dir), "restored")
	ok(g, e.h.RestoreSnapshot(ctx, path, dir), "RestoreSnapshot")
	restored, err := e.h.Open(ctx, dir)
	ok(g, err, "Open on the restored data")
	e.c.Cleanup(func() { _ = restored.Close() })
	got, _, _ := contents(ctx, g, restored, "/s/", 0, 0)
	g.Expect(got).To(gomega.Equal(want), "the restored store")
}
