package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/btree"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// The watch cache: every object of a resource in memory, decoded, in key order, kept by the
// resource's hub (its one store watch), as kube-apiserver's cacher keeps a watchCache in front of
// etcd. Lists the handlers mark as read-only (ListOptions.Cached) are answered from it:
//
//   - a consistent list (no resourceVersion) reads the store's current revision and waits until
//     the cache has applied every change up to it — asking the store watch for a progress
//     notification when the resource itself did not change (interfaces.ProgressWatcher, etcd's
//     progress requests; kube-apiserver's consistent reads from cache, KEP-2340) — and falls back
//     to the store when the store cannot say or the cache does not catch up within freshWait;
//   - resourceVersion "0" or NotOlderThan N answers from the cache as soon as it is at N;
//   - a paged list answers from an immutable copy of the tree taken at the first page (btree
//     clones are copy-on-write), kept for snapshotLinger, so that every page is read at one
//     revision; a continuation whose copy is gone reads the store at that revision;
//   - an Exact resourceVersion reads the store.
//
// Resources with a Converter (several stored versions, conversion webhooks) are always read
// from the store.

// freshWait bounds how long a consistent list waits for the cache (kube-apiserver: 3 s).
const freshWait = 3 * time.Second

// progressEvery is how often a waiting list asks the store watch for progress.
const progressEvery = 100 * time.Millisecond

// cacheLinger keeps a hub with a cache running this long after its last list, even without
// watchers.
const cacheLinger = 5 * time.Minute

// snapshotLinger keeps a paged list's copy of the tree for its next pages.
const snapshotLinger = 5 * time.Minute

// maxSnapshots bounds the copies kept per resource (the oldest goes first).
const maxSnapshots = 64

// historyWindow and maxHistory bound the recent events a hub keeps to serve watches from a
// revision it has passed (kube-apiserver keeps about 75 s of events).
const (
	historyWindow = 75 * time.Second
	maxHistory    = 10_000
)

// cacheTokenPrefix marks continue tokens made by the watch cache; the store's tokens are opaque
// to the API server, and this package's own never start with it.
const cacheTokenPrefix = "wc."

// errNotCached says the cache cannot answer: the caller reads the store.
var errNotCached = errors.New("not served from the watch cache")

// entry is one object of the cache.
type entry struct {
	key string
	obj runtime.Object
}

func entryLess(a, b entry) bool { return a.key < b.key }

// watchCache is a hub's objects; the hub's goroutine writes it under the hub's mutex.
type watchCache struct {
	tree *btree.BTreeG[entry]
	rev  int64 // the tree holds the resource as of rev
	used time.Time

	snaps map[int64]*snapshot
}

// snapshot is the tree of a paged list at rev.
type snapshot struct {
	tree *btree.BTreeG[entry]
	used time.Time
}

// cacheToken is the content of a continue token made by the cache.
type cacheToken struct {
	Revision int64  `json:"rev"`
	Prefix   string `json:"prefix"`
	After    string `json:"after"`
}

func encodeCacheToken(t cacheToken) string {
	b, _ := json.Marshal(t) // strings and an int cannot fail
	return cacheTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeCacheToken(s, prefix string) (cacheToken, bool, error) {
	rest, ok := strings.CutPrefix(s, cacheTokenPrefix)
	if !ok {
		return cacheToken{}, false, nil
	}
	bad := apierrors.NewBadRequest("invalid continue token")
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return cacheToken{}, true, bad
	}
	var t cacheToken
	if err := json.Unmarshal(b, &t); err != nil || t.Revision <= 0 || t.Prefix != prefix {
		return cacheToken{}, true, bad
	}
	return t, true, nil
}

// cachedList answers a list from res's watch cache, or errNotCached.
func (o *Objects) cachedList(ctx context.Context, res *registry.Resource, namespace string, opts ListOptions) (ListResult, error) {
	if res.Converter != nil || opts.Revision > 0 || o.noWatchCache {
		return ListResult{}, errNotCached
	}
	prefix := Prefix(res, namespace)
	var tok cacheToken
	if opts.Continue != "" {
		t, ours, err := decodeCacheToken(opts.Continue, prefix)
		if !ours {
			return ListResult{}, errNotCached
		}
		if err != nil {
			return ListResult{}, err
		}
		tok = t
	}
	h, err := o.hubFor(ctx, res)
	if err != nil {
		return ListResult{}, err
	}
	if err := h.ensureCache(ctx); err != nil {
		return ListResult{}, errNotCached
	}
	if tok.Revision > 0 {
		return h.continueList(ctx, prefix, tok, opts)
	}
	min := opts.MinRevision
	if min == 0 {
		// A consistent read: every change up to the store's current revision.
		if min, err = o.kv.CurrentRevision(ctx); err != nil {
			return ListResult{}, MapError(res, "", err)
		}
	}
	tree, rev, err := h.fresh(ctx, min)
	if err != nil {
		return ListResult{}, err
	}
	return h.page(tree, rev, prefix, "", opts), nil
}

// continueList answers the next page of a paged list made by the cache.
func (h *hub) continueList(ctx context.Context, prefix string, tok cacheToken, opts ListOptions) (ListResult, error) {
	// A continuation of a revision the store has compacted is 410 Gone, as from the store.
	if err := h.o.compacted(ctx, prefix, tok.Revision); err != nil {
		if interfaces.IsExpired(err) {
			expired := apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
			expired.ErrStatus.ListMeta.Continue = h.inconsistentToken(ctx, prefix, tok.After)
			return ListResult{}, expired
		}
		return ListResult{}, MapError(h.res, "", err)
	}
	h.mu.Lock()
	var tree *btree.BTreeG[entry]
	if s := h.cache.snaps[tok.Revision]; s != nil {
		s.used = time.Now()
		tree = s.tree
	}
	h.mu.Unlock()
	if tree == nil {
		// The copy is gone: the store still has the revision.
		return ListResult{}, errNotCached
	}
	return h.page(tree, tok.Revision, prefix, tok.After, opts), nil
}

// inconsistentToken resumes after key at the latest state: a token at the store's current
// revision, whose copy of the tree is taken now (or, when the cache cannot catch up, which the
// store serves).
func (h *hub) inconsistentToken(ctx context.Context, prefix, after string) string {
	rev, err := h.o.kv.CurrentRevision(ctx)
	if err == nil {
		if tree, at, ferr := h.fresh(ctx, rev); ferr == nil {
			h.mu.Lock()
			h.snapshotOfLocked(tree, at)
			h.mu.Unlock()
			rev = at
		}
	}
	return encodeCacheToken(cacheToken{Revision: rev, Prefix: prefix, After: after})
}

// page lists tree (the resource at rev) under prefix after the key after.
func (h *hub) page(tree *btree.BTreeG[entry], rev int64, prefix, after string, opts ListOptions) ListResult {
	out := ListResult{Items: []runtime.Object{}, Revision: rev}
	start := prefix
	if after != "" {
		start = after + "\x00"
	}
	var last string
	more := false
	var remaining int64
	tree.AscendGreaterOrEqual(entry{key: start}, func(e entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false
		}
		if more || (opts.Limit > 0 && int64(len(out.Items)) >= opts.Limit) {
			more = true
			remaining++
			return opts.Filter == nil // the remaining count is given only without a filter
		}
		last = e.key
		if opts.Filter == nil || opts.Filter(e.obj) {
			out.Items = append(out.Items, e.obj)
		}
		return true
	})
	if !more {
		return out
	}
	// The next page starts after the last object returned (or examined, with a filter).
	h.mu.Lock()
	h.snapshotOfLocked(tree, rev)
	h.mu.Unlock()
	out.Continue = encodeCacheToken(cacheToken{Revision: rev, Prefix: prefix, After: last})
	if opts.Filter == nil {
		out.Remaining = &remaining
	}
	return out
}

// snapshotOfLocked keeps tree as the snapshot of rev, dropping expired and surplus ones.
func (h *hub) snapshotOfLocked(tree *btree.BTreeG[entry], rev int64) {
	c := h.cache
	now := time.Now()
	if s := c.snaps[rev]; s != nil {
		s.used = now
		return
	}
	var oldest int64 = -1
	for r, s := range c.snaps {
		if now.Sub(s.used) > snapshotLinger {
			delete(c.snaps, r)
			continue
		}
		if oldest < 0 || r < oldest {
			oldest = r
		}
	}
	if len(c.snaps) >= maxSnapshots && oldest >= 0 {
		delete(c.snaps, oldest)
	}
	c.snaps[rev] = &snapshot{tree: tree, used: now}
}

// ensureCache fills the hub's cache unless it has one: the hub's goroutine lists the store and
// applies later events on top.
func (h *hub) ensureCache(ctx context.Context) error {
	h.mu.Lock()
	if h.cache != nil {
		h.cache.used = time.Now()
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	reply := make(chan error, 1)
	select {
	case h.cacheReq <- reply:
	case <-h.done:
		return errNotCached
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-h.done:
		return errNotCached
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fillCache lists the store (at its latest revision) into a new cache; the hub's goroutine
// calls it, so no event is applied meanwhile, and later events at or below the list's
// revision are already in it.
func (h *hub) fillCache(ctx context.Context) error {
	h.mu.Lock()
	done := h.cache != nil
	h.mu.Unlock()
	if done {
		return nil
	}
	tree := btree.NewG(32, entryLess)
	var rev int64
	cont := ""
	for {
		lr, err := h.o.kv.List(ctx, Prefix(h.res, ""), interfaces.ListOptions{Revision: rev, Limit: 1000, Continue: cont})
		if err != nil {
			return MapError(h.res, "", err)
		}
		rev = lr.Revision
		for _, kv := range lr.Items {
			obj, err := h.o.decodeStored(ctx, h.res, kv.Key, kv.Value, kv.ModRevision)
			if err != nil {
				return err
			}
			tree.ReplaceOrInsert(entry{key: kv.Key, obj: obj})
		}
		if lr.Continue == "" {
			break
		}
		cont = lr.Continue
	}
	h.mu.Lock()
	h.cache = &watchCache{tree: tree, rev: rev, used: time.Now(), snaps: map[int64]*snapshot{}}
	close(h.advanced)
	h.advanced = make(chan struct{})
	h.mu.Unlock()
	return nil
}

// applyLocked applies a change to the cache (when it has not seen it yet).
func (h *hub) applyLocked(ev Event, key string) {
	c := h.cache
	if c == nil || ev.Revision <= c.rev {
		return
	}
	if ev.Type == interfaces.EventDeleted {
		c.tree.Delete(entry{key: key})
	} else {
		c.tree.ReplaceOrInsert(entry{key: key, obj: ev.Object})
	}
}

// advanceLocked records that every change up to rev was delivered, waking the lists that wait
// for the cache.
func (h *hub) advanceLocked(rev int64) {
	if rev > h.last {
		h.last = rev
	}
	if h.cache != nil && rev > h.cache.rev {
		h.cache.rev = rev
	}
	close(h.advanced)
	h.advanced = make(chan struct{})
}

// fresh returns a copy of the cache's tree and its revision once the cache holds every change up
// to min, asking the store watch for progress meanwhile. It gives up (errNotCached) after
// freshWait, or at once when the store watch cannot report progress.
func (h *hub) fresh(ctx context.Context, min int64) (*btree.BTreeG[entry], int64, error) {
	deadline := time.NewTimer(freshWait)
	defer deadline.Stop()
	pw, canAsk := h.watcher.(interfaces.ProgressWatcher)
	var tick <-chan time.Time
	for {
		h.mu.Lock()
		if h.cache != nil && h.cache.rev >= min {
			tree, rev := h.cache.tree.Clone(), h.cache.rev
			h.cache.used = time.Now()
			h.mu.Unlock()
			return tree, rev, nil
		}
		wait := h.advanced
		h.mu.Unlock()
		if tick == nil {
			if !canAsk {
				return nil, 0, errNotCached
			}
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			tick = t.C
			h.requestProgress(ctx, pw)
		}
		select {
		case <-wait:
		case <-tick:
			h.requestProgress(ctx, pw)
		case <-deadline.C:
			return nil, 0, errNotCached
		case <-h.done:
			return nil, 0, errNotCached
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// requestProgress asks the store watch for progress, at most once per progressEvery/2 for all
// the lists waiting on the hub.
func (h *hub) requestProgress(ctx context.Context, pw interfaces.ProgressWatcher) {
	h.mu.Lock()
	now := time.Now()
	if now.Sub(h.progressAsked) < progressEvery/2 {
		h.mu.Unlock()
		return
	}
	h.progressAsked = now
	h.mu.Unlock()
	_ = pw.RequestProgress(ctx) // on failure the list waits for the next tick or falls back
}

// historyEntry is one recent event and when the hub received it.
type historyEntry struct {
	ev  Event
	key string
	at  time.Time
}

// rememberLocked appends ev to the hub's recent history, dropping what is too old or too much.
func (h *hub) rememberLocked(ev Event, key string, now time.Time) {
	h.history = append(h.history, historyEntry{ev: ev, key: key, at: now})
	for h.histHead < len(h.history) && (len(h.history)-h.histHead > maxHistory || now.Sub(h.history[h.histHead].at) > historyWindow) {
		h.histFrom = h.history[h.histHead].ev.Revision
		h.history[h.histHead] = historyEntry{}
		h.histHead++
	}
	if h.histHead > 1024 && h.histHead > len(h.history)/2 {
		h.history = append([]historyEntry(nil), h.history[h.histHead:]...)
		h.histHead = 0
	}
}

// replayLocked queues for sub the recent events after sub.from, when the history holds all of
// them.
func (h *hub) replayLocked(sub *subscriber) bool {
	if sub.from < h.histFrom {
		return false
	}
	for _, he := range h.history[h.histHead:] {
		if he.ev.Revision > sub.from && strings.HasPrefix(he.key, sub.prefix) {
			sub.queue = append(sub.queue, he.ev)
		}
	}
	return true
}

// GetAt reads one object in a state not older than minRevision (0: any state): from the
// resource's watch cache when one is running and holds minRevision (at once, or after waiting
// up to freshWait for it), else from the store — as kube-apiserver answers a GET with a
// resourceVersion from its cacher and one without from etcd. The object is the caller's to
// modify.
func (o *Objects) GetAt(ctx context.Context, res *registry.Resource, namespace, name string, minRevision int64) (runtime.Object, error) {
	if obj, err := o.cachedGet(ctx, res, namespace, name, max(minRevision, 1)); !errors.Is(err, errNotCached) {
		return obj, err
	}
	return o.Get(ctx, res, namespace, name)
}

func (o *Objects) cachedGet(ctx context.Context, res *registry.Resource, namespace, name string, min int64) (runtime.Object, error) {
	if res.Converter != nil || o.noWatchCache {
		return nil, errNotCached
	}
	o.hubs.mu.Lock()
	h := o.hubs.all[res]
	o.hubs.mu.Unlock()
	if h == nil {
		return nil, errNotCached
	}
	key := Key(res, namespace, name)
	found := func(e entry, ok bool) (runtime.Object, error) {
		if !ok {
			return nil, apierrors.NewNotFound(res.GroupResource(), name)
		}
		return e.obj.DeepCopyObject(), nil
	}
	h.mu.Lock()
	if h.cache == nil || h.stopped {
		h.mu.Unlock()
		return nil, errNotCached
	}
	if h.cache.rev >= min {
		e, ok := h.cache.tree.Get(entry{key: key})
		h.cache.used = time.Now()
		h.mu.Unlock()
		return found(e, ok)
	}
	h.mu.Unlock()
	tree, _, err := h.fresh(ctx, min)
	if err != nil {
		return nil, err
	}
	return found(tree.Get(entry{key: key}))
}
