package storage

import (
	"context"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// Cache holds every object of one resource in memory, kept by a list and the resource's
// shared watch, as the informers of kube-apiserver's admission plugins do (NamespaceLifecycle
// looks namespaces up in one): a lookup costs no store read. Writes made through the Objects
// that made the cache are applied to it before they return, so the server that acknowledged
// a write never answers from a cache that does not have it yet (read-your-writes); writes
// made by other servers arrive through the watch, milliseconds later.
type Cache struct {
	o   *Objects
	res *registry.Resource

	mu     sync.Mutex
	synced bool
	objs   map[string]cached // by Key
	// retry is when a failed start may be tried again.
	retry time.Time
}

// cached is one object, or a tombstone (obj nil) left by a delete this server made, which
// keeps watch events of the object's revisions up to rev from bringing it back.
type cached struct {
	obj runtime.Object
	rev int64
}

// Cache returns the cache of res, starting it (a list, then a watch from the list's revision)
// on the first call. Until it has listed, Get answers not found with synced false: callers
// read the store then.
func (o *Objects) Cache(res *registry.Resource) *Cache {
	o.cacheMu.Lock()
	defer o.cacheMu.Unlock()
	if c, ok := o.caches[res]; ok {
		return c
	}
	if o.caches == nil {
		o.caches = map[*registry.Resource]*Cache{}
	}
	c := &Cache{o: o, res: res, objs: map[string]cached{}}
	o.caches[res] = c
	return c
}

// cacheOf returns res's cache if one was made.
func (o *Objects) cacheOf(res *registry.Resource) *Cache {
	o.cacheMu.Lock()
	defer o.cacheMu.Unlock()
	return o.caches[res]
}

// Get returns the cached object (shared: do not modify it). synced false means the cache
// has not listed yet (or its watch broke and it is listing again): the answer is no answer.
func (c *Cache) Get(namespace, name string) (obj runtime.Object, found, synced bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.synced {
		c.startLocked()
		return nil, false, false
	}
	e, ok := c.objs[Key(c.res, namespace, name)]
	if !ok || e.obj == nil {
		return nil, false, true
	}
	return e.obj, true, true
}

// startLocked starts the list and watch unless they run or failed less than a second ago.
func (c *Cache) startLocked() {
	if c.retry.After(time.Now()) {
		return
	}
	c.retry = time.Now().Add(time.Second)
	go c.run()
}

// run lists, then applies the watch's events until it breaks; the cache is then unsynced
// until the next Get starts it again.
func (c *Cache) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, err := c.o.List(ctx, c.res, "", ListOptions{})
	if err != nil {
		return
	}
	events, errc, err := c.o.Watch(ctx, c.res, "", list.Revision)
	if err != nil {
		return
	}
	c.mu.Lock()
	for _, obj := range list.Items {
		c.applyLocked(obj, objectRevision(obj), false)
	}
	c.synced = true
	c.mu.Unlock()
	for ev := range events {
		c.mu.Lock()
		c.applyLocked(ev.Object, ev.Revision, ev.Type == interfaces.EventDeleted)
		c.mu.Unlock()
	}
	<-errc
	c.mu.Lock()
	c.synced = false
	c.objs = map[string]cached{}
	c.mu.Unlock()
}

// applyLocked records obj as of revision rev (deleted: gone at rev), unless the cache holds a
// later state of it.
func (c *Cache) applyLocked(obj runtime.Object, rev int64, deleted bool) {
	key, ok := c.keyOf(obj)
	if !ok {
		return
	}
	if cur, ok := c.objs[key]; ok && cur.rev >= rev {
		return
	}
	if deleted {
		delete(c.objs, key)
		return
	}
	c.objs[key] = cached{obj: obj, rev: rev}
}

// keyOf is obj's storage key.
func (c *Cache) keyOf(obj runtime.Object) (string, bool) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", false
	}
	return Key(c.res, m.GetNamespace(), m.GetName()), true
}

// objectRevision is the revision obj was last modified at (its resourceVersion).
func objectRevision(obj runtime.Object) int64 {
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0
	}
	rev, _ := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	return rev
}

// written applies a write this server made to res's cache, if it has one (listed yet or not:
// a list from before the write does not undo it): obj as stored at rev, or (deleted) obj's
// last state, whose revision is rev.
func (o *Objects) written(res *registry.Resource, obj runtime.Object, rev int64, deleted bool) {
	c := o.cacheOf(res)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key, ok := c.keyOf(obj)
	if !ok {
		return
	}
	if cur, ok := c.objs[key]; ok && cur.rev > rev {
		return
	}
	if deleted {
		// A tombstone: the watch's events up to rev are older than the delete; its delete
		// event (a later revision) removes the tombstone.
		c.objs[key] = cached{rev: rev}
		return
	}
	c.objs[key] = cached{obj: obj, rev: rev}
}
