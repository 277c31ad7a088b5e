package storage_test

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// countingStore counts the lists that reach the store.
type countingStore struct {
	interfaces.Store
	lists atomic.Int64
}

func (c *countingStore) List(ctx context.Context, prefix string, opts interfaces.ListOptions) (interfaces.ListResult, error) {
	c.lists.Add(1)
	return c.Store.List(ctx, prefix, opts)
}

func names(lr storage.ListResult) []string {
	var out []string
	for _, o := range lr.Items {
		m := o.(metav1.Object)
		out = append(out, m.GetNamespace()+"/"+m.GetName())
	}
	return out
}

func cachedList(ctx context.Context, t *testing.T, o *storage.Objects, res *registry.Resource, ns string, opts storage.ListOptions) storage.ListResult {
	t.Helper()
	opts.Cached = true
	lr, err := o.List(ctx, res, ns, opts)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return lr
}

// TestWatchCacheConsistentListsWithoutStoreReads: once filled, a consistent list is answered
// from memory — including right after this server's own write and after writes to other
// resources only (the store watch's progress notification says the cache is current).
func TestWatchCacheConsistentListsWithoutStoreReads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := &countingStore{Store: memory.New()}
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	createCM(ctx, t, o, res, "a", "one")
	if got := names(cachedList(ctx, t, o, res, "", storage.ListOptions{})); len(got) != 1 {
		t.Fatalf("first list: %v", got)
	}
	before := kv.lists.Load()
	rev := createCM(ctx, t, o, res, "a", "two")
	lr := cachedList(ctx, t, o, res, "", storage.ListOptions{})
	if got := names(lr); len(got) != 2 || lr.Revision < rev {
		t.Fatalf("a list right after a create must have it: %v at %d (create at %d)", got, lr.Revision, rev)
	}
	// A write elsewhere moves the store's revision; only progress tells the cache.
	secrets := registry.Default().Lookup(corev1.SchemeGroupVersion.WithResource("secrets"))
	if _, err := o.Create(ctx, secrets, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s"}}); err != nil {
		t.Fatal(err)
	}
	cur, _ := kv.CurrentRevision(ctx)
	start := time.Now()
	lr = cachedList(ctx, t, o, res, "", storage.ListOptions{})
	if lr.Revision < cur {
		t.Fatalf("a consistent list at %d, store at %d", lr.Revision, cur)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the consistent list waited %s for progress", d)
	}
	if n := kv.lists.Load() - before; n != 0 {
		t.Fatalf("%d lists reached the store, want 0", n)
	}
}

// TestWatchCachePagesAreReadAtOneRevision: every page of a paged list comes from the state of
// its first page, whatever changes in between, and every object comes exactly once.
func TestWatchCachePagesAreReadAtOneRevision(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		createCM(ctx, t, o, res, "ns", n)
	}
	createCM(ctx, t, o, res, "nsx", "other") // another namespace whose name extends "ns"
	createCM(ctx, t, o, res, "a", "before")  // and one whose keys come before
	first := cachedList(ctx, t, o, res, "ns", storage.ListOptions{Limit: 2})
	if first.Continue == "" || first.Remaining == nil || *first.Remaining != 3 {
		t.Fatalf("first page: %v, continue %q, remaining %v", names(first), first.Continue, first.Remaining)
	}
	if _, err := o.Delete(ctx, res, "ns", "d", 0); err != nil {
		t.Fatal(err)
	}
	createCM(ctx, t, o, res, "ns", "f")
	got := names(first)
	cont := first.Continue
	for cont != "" {
		lr := cachedList(ctx, t, o, res, "ns", storage.ListOptions{Limit: 2, Continue: cont})
		if lr.Revision != first.Revision {
			t.Fatalf("a page at %d, the first at %d", lr.Revision, first.Revision)
		}
		got = append(got, names(lr)...)
		cont = lr.Continue
	}
	want := []string{"ns/a", "ns/b", "ns/c", "ns/d", "ns/e"}
	if len(got) != len(want) {
		t.Fatalf("pages: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pages: %v, want %v", got, want)
		}
	}

	// The same token on another server (no copy of the tree there) reads the store.
	o2 := storage.New(kv)
	lr, err := o2.List(ctx, res, "ns", storage.ListOptions{Limit: 2, Continue: first.Continue, Cached: true})
	if err != nil {
		t.Fatal(err)
	}
	if g := names(lr); len(g) != 2 || g[0] != "ns/c" || g[1] != "ns/d" || lr.Continue == "" {
		t.Fatalf("the continuation from the store: %v (continue %q)", g, lr.Continue)
	}
}

// TestWatchCacheContinueAfterCompactionIsGone: a continuation of a compacted revision is 410
// with a token that resumes (inconsistently) after the last key.
func TestWatchCacheContinueAfterCompactionIsGone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	for _, n := range []string{"a", "b", "c"} {
		createCM(ctx, t, o, res, "ns", n)
	}
	first := cachedList(ctx, t, o, res, "ns", storage.ListOptions{Limit: 1})
	createCM(ctx, t, o, res, "ns", "d")
	cur, _ := kv.CurrentRevision(ctx)
	if err := kv.Compact(ctx, cur); err != nil {
		t.Fatal(err)
	}
	_, err := o.List(ctx, res, "ns", storage.ListOptions{Limit: 1, Continue: first.Continue, Cached: true})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("want 410, got %v", err)
	}
	tok := err.(apierrors.APIStatus).Status().ListMeta.Continue
	if tok == "" {
		t.Fatal("the 410 carries no continue token")
	}
	var rest []string
	for tok != "" {
		lr := cachedList(ctx, t, o, res, "ns", storage.ListOptions{Limit: 1, Continue: tok})
		rest = append(rest, names(lr)...)
		tok = lr.Continue
	}
	if len(rest) != 3 || rest[0] != "ns/b" || rest[2] != "ns/d" {
		t.Fatalf("the inconsistent continuation: %v", rest)
	}
}

// TestWatchCacheFilteredPages: with a filter, pages hold only matching objects and resume after
// the last object examined.
func TestWatchCacheFilteredPages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	for _, n := range []string{"a1", "b", "a2", "c", "a3", "d"} {
		createCM(ctx, t, o, res, "ns", n)
	}
	onlyA := func(obj runtime.Object) bool { return obj.(*corev1.ConfigMap).Name[0] == 'a' }
	var got []string
	opts := storage.ListOptions{Limit: 2, Filter: onlyA}
	for {
		lr := cachedList(ctx, t, o, res, "ns", opts)
		if lr.Remaining != nil {
			t.Fatal("a filtered page must not count the remaining items")
		}
		got = append(got, names(lr)...)
		if lr.Continue == "" {
			break
		}
		opts.Continue = lr.Continue
	}
	sort.Strings(got)
	if len(got) != 3 || got[0] != "ns/a1" || got[2] != "ns/a3" {
		t.Fatalf("filtered pages: %v", got)
	}
}

// TestWatchCacheSharedWatchReplaysRecentHistory: a watch from a revision the hub has passed is
// served from its recent events.
func TestWatchCacheSharedWatchReplaysRecentHistory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	live, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	from := createCM(ctx, t, o, res, "ns", "a")
	createCM(ctx, t, o, res, "ns", "b")
	createCM(ctx, t, o, res, "other", "c")
	receive(t, live, 3)
	later, _, err := o.Watch(ctx, res, "ns", from)
	if err != nil {
		t.Fatal(err)
	}
	createCM(ctx, t, o, res, "ns", "d")
	if got := receive(t, later, 2); got[0] != "b" || got[1] != "d" {
		t.Fatalf("a watch from %d got %v, want [b d]", from, got)
	}
}

// TestWatchCacheHistoryKeepsEveryEventWhenTrimmed: past the history's bound (10,000 events),
// trimming and compacting it in memory loses no event a watch from inside it needs.
func TestWatchCacheHistoryKeepsEveryEventWhenTrimmed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 21,000 objects")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	live, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	const total = 21_000
	var from int64
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for range total {
			<-live
		}
	}()
	for i := range total {
		rev := createCM(ctx, t, o, res, "ns", fmt.Sprintf("cm-%05d", i))
		if i == total-5_001 {
			from = rev
		}
	}
	<-drained
	later, _, err := o.Watch(ctx, res, "ns", from)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, later, 5_000)
	if got[0] != fmt.Sprintf("cm-%05d", total-5_000) || got[4_999] != fmt.Sprintf("cm-%05d", total-1) {
		t.Fatalf("a watch from the history got %s … %s", got[0], got[4_999])
	}
	for i, name := range got {
		if want := fmt.Sprintf("cm-%05d", total-5_000+i); name != want {
			t.Fatalf("event %d: %s, want %s", i, name, want)
		}
	}
}

// countingGets counts the reads of one key that reach the store.
type countingGets struct {
	interfaces.Store
	gets atomic.Int64
}

func (c *countingGets) Get(ctx context.Context, key string) (interfaces.KeyValue, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

// TestWatchCacheGetAt: with the resource's cache running, a GET at "any state" or at a revision
// the cache holds reads no store key, answers the newest state the cache has, a copy the caller
// may change, and NotFound for a deleted object; without a cache it reads the store.
func TestWatchCacheGetAt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := &countingGets{Store: memory.New()}
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	rev := createCM(ctx, t, o, res, "a", "one")
	if _, err := o.GetAt(ctx, res, "a", "one", 0); err != nil || kv.gets.Load() != 1 {
		t.Fatalf("without a cache: %v, %d store reads, want 1", err, kv.gets.Load())
	}
	cachedList(ctx, t, o, res, "", storage.ListOptions{})
	kv.gets.Store(0)
	for _, min := range []int64{0, rev} {
		obj, err := o.GetAt(ctx, res, "a", "one", min)
		if err != nil {
			t.Fatalf("GetAt %d: %v", min, err)
		}
		obj.(*corev1.ConfigMap).Data = map[string]string{"changed": "by the caller"}
	}
	obj, err := o.GetAt(ctx, res, "a", "one", 0)
	if err != nil || obj.(*corev1.ConfigMap).Data != nil {
		t.Fatalf("the cached object was changed through an earlier answer: %v, %v", obj, err)
	}
	if _, err := o.GetAt(ctx, res, "a", "missing", 0); !apierrors.IsNotFound(err) {
		t.Fatalf("GetAt of a missing object: %v, want NotFound", err)
	}
	if n := kv.gets.Load(); n != 0 {
		t.Fatalf("%d reads reached the store with the cache running, want 0", n)
	}
	// A revision the cache reaches a moment later (this server's own delete) is waited for.
	if _, err := o.Delete(ctx, res, "a", "one", 0); err != nil {
		t.Fatal(err)
	}
	cur, _ := kv.CurrentRevision(ctx)
	if _, err := o.GetAt(ctx, res, "a", "one", cur); !apierrors.IsNotFound(err) {
		t.Fatalf("GetAt at the delete's revision: %v, want NotFound", err)
	}
}
