package storage

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// hubLinger is how long a hub keeps its store watch after its last watcher left, so that
// clients re-establishing their watches (informers do every few minutes) find it running.
const hubLinger = time.Minute

// maxQueued bounds the events queued for one watcher that does not read them: past it the
// watcher's channel closes without an error, as kube-apiserver's cacher closes an
// unresponsive watcher, and its client watches again from the last revision it saw.
const maxQueued = 100_000

// hubs shares one store watch per served resource among all the watches of that resource:
// each change is read from the store and decoded once, and each decoded object is encoded to
// JSON at most once for every watcher that sends it as it is (as kube-apiserver's cacher
// serves all watchers from one etcd watch and caches each event's serialization).
type hubs struct {
	mu  sync.Mutex
	all map[*registry.Resource]*hub
}

// hub is the shared watch of one resource across every namespace.
type hub struct {
	o      *Objects
	res    *registry.Resource
	cancel context.CancelFunc

	watcher  interfaces.Watcher
	cacheReq chan chan error // lists asking the hub's goroutine to fill the cache
	done     chan struct{}   // closed when the hub has stopped

	mu   sync.Mutex
	subs map[*subscriber]struct{}
	// byIndex holds the subscribers of subs that want only the objects with one value of the
	// resource's WatchIndex field, by that value; the others are in unindexed.
	byIndex   map[string]map[*subscriber]struct{}
	unindexed map[*subscriber]struct{}
	last      int64 // every change of the resource up to this revision has been delivered
	stopped   bool
	idle      *time.Timer

	cache         *watchCache   // nil until a list asks for it (watchcache.go)
	advanced      chan struct{} // closed (and replaced) whenever last advances
	progressAsked time.Time     // when a waiting list last asked the store watch for progress

	// The recent events: every change after histFrom is in history[histHead:].
	history  []historyEntry
	histHead int
	histFrom int64
}

// subscriber is one watch served by a hub: the events after from under prefix, queued until
// the watch's goroutine sends them.
type subscriber struct {
	prefix string
	from   int64
	// index is the value of the resource's WatchIndex field the watch selects (indexed set).
	index   string
	indexed bool
	ready   chan struct{} // signalled when queue or done changes

	mu    sync.Mutex
	queue []Event
	done  bool
	err   error
}

// encoded memoizes an event object's JSON and its protobuf encoding for all the watchers that
// send it.
type encoded struct {
	once sync.Once
	data []byte
	err  error

	protoOnce sync.Once
	proto     []byte
	protoErr  error

	fieldsOnce            sync.Once
	objFields, prevFields fields.Set
}

// JSON returns the JSON of the event's Object, encoded once for every watcher of a shared
// watch. Callers must not modify the bytes.
func (e Event) JSON() ([]byte, error) {
	if e.encoded == nil {
		return json.Marshal(e.Object)
	}
	e.encoded.once.Do(func() { e.encoded.data, e.encoded.err = json.Marshal(e.Object) })
	return e.encoded.data, e.encoded.err
}

// Protobuf returns the event's Object encoded by encode, memoized next to JSON for every
// watcher of a shared watch: 50 protobuf watchers cost one encoding. Every caller must pass the
// same encoding (the server's protobuf serializer); callers must not modify the bytes.
func (e Event) Protobuf(encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	if e.encoded == nil {
		return encode(e.Object)
	}
	e.encoded.protoOnce.Do(func() { e.encoded.proto, e.encoded.protoErr = encode(e.Object) })
	return e.encoded.proto, e.encoded.protoErr
}

// FieldSets returns the field sets of the event's Object and Previous (nil when absent) that
// res's field selectors match, computed once for every watcher of a shared watch: a thousand
// kubelets watching pods by spec.nodeName cost one field set per pod change, not a thousand
// (as kube-apiserver's cacher computes an object's attributes once per event). Callers must
// not modify the sets.
func (e Event) FieldSets(res *registry.Resource) (object, previous fields.Set) {
	compute := func() (fields.Set, fields.Set) { return fieldSetOf(res, e.Object), fieldSetOf(res, e.Previous) }
	if e.encoded == nil {
		return compute()
	}
	e.encoded.fieldsOnce.Do(func() { e.encoded.objFields, e.encoded.prevFields = compute() })
	return e.encoded.objFields, e.encoded.prevFields
}

// indexValues are the values of res's WatchIndex field in the event's Object and Previous
// (the Object's when there is no Previous).
func indexValues(res *registry.Resource, ev Event) (now, before string) {
	objFields, prevFields := ev.FieldSets(res)
	now = objFields[res.WatchIndex]
	before = now
	if ev.Previous != nil {
		before = prevFields[res.WatchIndex]
	}
	return now, before
}

func fieldSetOf(res *registry.Resource, obj runtime.Object) fields.Set {
	if obj == nil {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return res.FieldSet(obj, m.GetName(), m.GetNamespace())
}

// sharedWatch serves a watch of res under namespace from fromRevision (> 0) from the
// resource's hub. It returns ok false when the hub cannot serve it — the hub started after
// fromRevision or has already delivered changes after it, which the watch needs replayed — and
// the caller watches the store itself, so that the store decides on history and compaction.
func (o *Objects) sharedWatch(ctx context.Context, res *registry.Resource, namespace string, fromRevision int64, opts WatchOptions) (<-chan Event, <-chan error, bool, error) {
	sub := &subscriber{prefix: Prefix(res, namespace), from: fromRevision, ready: make(chan struct{}, 1)}
	if opts.IndexValue != nil && res.WatchIndex != "" {
		sub.index, sub.indexed = *opts.IndexValue, true
	}
	var h *hub
	for attempt := 0; ; attempt++ {
		var err error
		h, err = o.hubFor(ctx, res)
		if err != nil {
			return nil, nil, false, err
		}
		added, stopped := h.add(sub)
		if added {
			break
		}
		if !stopped || attempt > 0 {
			return nil, nil, false, nil
		}
		// The hub ended between the lookup and the subscription: start a new one.
	}
	out := make(chan Event)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		defer close(out)
		defer h.remove(sub)
		for {
			select {
			case <-ctx.Done():
				errc <- nil
				return
			case <-sub.ready:
			}
			sub.mu.Lock()
			batch, done, err := sub.queue, sub.done, sub.err
			sub.queue = nil
			sub.mu.Unlock()
			for _, ev := range batch {
				select {
				case out <- ev:
				case <-ctx.Done():
					errc <- nil
					return
				}
			}
			if done {
				errc <- err
				return
			}
		}
	}()
	return out, errc, true, nil
}

// hubFor returns res's running hub, starting one that watches the store from its current
// revision when there is none (never from an older one: the store alone answers for history,
// and a hub must not end its other watches because one asked for a compacted revision).
func (o *Objects) hubFor(ctx context.Context, res *registry.Resource) (*hub, error) {
	o.hubs.mu.Lock()
	defer o.hubs.mu.Unlock()
	if h := o.hubs.all[res]; h != nil {
		return h, nil
	}
	cur, err := o.kv.CurrentRevision(ctx)
	if err != nil {
		return nil, MapError(res, "", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	w, err := o.kv.Watch(hctx, Prefix(res, ""), cur)
	if err != nil {
		cancel()
		return nil, MapError(res, "", err)
	}
	h := &hub{o: o, res: res, cancel: cancel, watcher: w, cacheReq: make(chan chan error), done: make(chan struct{}),
		subs: map[*subscriber]struct{}{}, last: cur, histFrom: cur, advanced: make(chan struct{})}
	// Started by a list, the hub may never get a watcher: it stops unless one comes or the
	// cache is used.
	h.idle = time.AfterFunc(hubLinger, h.stopIfIdle)
	if o.hubs.all == nil {
		o.hubs.all = map[*registry.Resource]*hub{}
	}
	o.hubs.all[res] = h
	go h.run(hctx, w)
	return h, nil
}

// add subscribes sub unless the hub has delivered changes after sub.from that its recent
// history no longer holds (they would be missed) or has stopped.
func (h *hub) add(sub *subscriber) (added, stopped bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false, true
	}
	if sub.from < h.last {
		if !h.replayLocked(sub) {
			return false, false
		}
		if len(sub.queue) > 0 {
			sub.signal()
		}
	}
	h.subs[sub] = struct{}{}
	if sub.indexed {
		if h.byIndex == nil {
			h.byIndex = map[string]map[*subscriber]struct{}{}
		}
		if h.byIndex[sub.index] == nil {
			h.byIndex[sub.index] = map[*subscriber]struct{}{}
		}
		h.byIndex[sub.index][sub] = struct{}{}
	} else {
		if h.unindexed == nil {
			h.unindexed = map[*subscriber]struct{}{}
		}
		h.unindexed[sub] = struct{}{}
	}
	if h.idle != nil {
		h.idle.Stop()
		h.idle = nil
	}
	return true, false
}

// remove unsubscribes sub; the hub stops hubLinger after its last subscriber left.
func (h *hub) remove(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(sub)
	if len(h.subs) == 0 && !h.stopped && h.idle == nil {
		h.idle = time.AfterFunc(hubLinger, h.stopIfIdle)
	}
}

// dropLocked forgets sub.
func (h *hub) dropLocked(sub *subscriber) {
	delete(h.subs, sub)
	if !sub.indexed {
		delete(h.unindexed, sub)
		return
	}
	if set := h.byIndex[sub.index]; set != nil {
		delete(set, sub)
		if len(set) == 0 {
			delete(h.byIndex, sub.index)
		}
	}
}

// stopIfIdle stops the hub when nobody subscribed since its idle timer started and its cache
// has not been listed for cacheLinger.
func (h *hub) stopIfIdle() {
	h.o.hubs.mu.Lock()
	h.mu.Lock()
	idle := len(h.subs) == 0 && h.idle != nil && !h.stopped
	if idle && h.cache != nil {
		if rest := cacheLinger - time.Since(h.cache.used); rest > 0 {
			idle = false
			h.idle = time.AfterFunc(rest, h.stopIfIdle)
		}
	}
	if idle {
		h.stopped = true
		if h.o.hubs.all[h.res] == h {
			delete(h.o.hubs.all, h.res)
		}
	}
	h.mu.Unlock()
	h.o.hubs.mu.Unlock()
	if idle {
		h.cancel()
	}
}

// run reads the store watch until it ends, decoding each change once and queueing it for
// every subscriber it concerns; when the watch ends every subscriber ends with its error.
func (h *hub) run(ctx context.Context, w interfaces.Watcher) {
	defer w.Stop()
	end := func(err error) {
		h.o.hubs.mu.Lock()
		if h.o.hubs.all[h.res] == h {
			delete(h.o.hubs.all, h.res)
		}
		h.o.hubs.mu.Unlock()
		h.mu.Lock()
		h.stopped = true
		if h.idle != nil {
			h.idle.Stop()
		}
		for sub := range h.subs {
			sub.finish(err)
		}
		h.subs, h.byIndex, h.unindexed = nil, nil, nil
		close(h.done)
		h.mu.Unlock()
		h.cancel()
	}
	for {
		var ev interfaces.Event
		var ok bool
		select {
		case <-ctx.Done():
			end(nil)
			return
		case reply := <-h.cacheReq:
			reply <- h.fillCache(ctx)
			continue
		case ev, ok = <-w.Events():
		}
		if !ok {
			if ctx.Err() != nil {
				end(nil)
			} else {
				end(MapError(h.res, "", w.Err()))
			}
			return
		}
		if ev.Type == interfaces.EventProgress {
			h.mu.Lock()
			h.advanceLocked(ev.KV.ModRevision)
			h.mu.Unlock()
			continue
		}
		obj, err := h.o.decodeStored(ctx, h.res, ev.KV.Key, ev.KV.Value, ev.KV.ModRevision)
		if err != nil {
			end(err)
			return
		}
		var prev runtime.Object
		if ev.PrevValue != nil {
			if prev, err = h.o.decodeStored(ctx, h.res, ev.KV.Key, ev.PrevValue, 0); err != nil {
				end(err)
				return
			}
		}
		out := Event{Type: ev.Type, Object: obj, Previous: prev, Revision: ev.KV.ModRevision, encoded: &encoded{}}
		h.mu.Lock()
		h.applyLocked(out, ev.KV.Key)
		h.rememberLocked(out, ev.KV.Key, time.Now())
		h.advanceLocked(out.Revision)
		deliver := func(subs map[*subscriber]struct{}) {
			for sub := range subs {
				if out.Revision <= sub.from || !strings.HasPrefix(ev.KV.Key, sub.prefix) {
					continue
				}
				if !sub.push(out) {
					h.dropLocked(sub)
				}
			}
		}
		deliver(h.unindexed)
		if len(h.byIndex) > 0 {
			// Only the watchers of the object's value of the index field, before and after.
			now, before := indexValues(h.res, out)
			deliver(h.byIndex[now])
			if before != now {
				deliver(h.byIndex[before])
			}
		}
		h.mu.Unlock()
	}
}

// push queues ev; it ends the subscriber (closing its watch without an error) instead when
// its queue is full, and reports false.
func (s *subscriber) push(ev Event) bool {
	s.mu.Lock()
	if len(s.queue) >= maxQueued {
		s.done = true
		s.mu.Unlock()
		s.signal()
		return false
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.signal()
	return true
}

// finish ends the subscriber with err once its queued events are sent.
func (s *subscriber) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}
