package memory

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/store/storetoken"
)

// errClosed is returned by every call after Close.
var errClosed = errors.New("memory store: closed")

// version is one value a key held from rev on (deleted: the key was
// deleted at rev).
type version struct {
	rev       int64
	createRev int64
	value     []byte
	deleted   bool
}

// Store is an in-memory interfaces.Store. The zero value is not usable; call
// New.
type Store struct {
	mu        sync.RWMutex
	closed    bool
	rev       int64
	compacted int64
	// keys is every key that has a version, sorted.
	keys []string
	// history holds each key's versions, oldest first.
	history map[string][]version
	// log holds every event with revision >= compacted, in revision order.
	log []interfaces.Event
	// watches are the running watches: a write wakes only those whose prefix holds its key,
	// as etcd notifies only the watchers of a key (waking every watch on every write made a
	// server's watch goroutines, dozens with its informers, run for each write).
	watches map[*subscription]struct{}
	// done is closed by Close.
	done chan struct{}
}

var _ interfaces.Store = (*Store)(nil)

// New returns an empty store at revision 1 (like a fresh etcd).
func New() *Store {
	return &Store{
		rev:       1,
		compacted: 1,
		history:   map[string][]version{},
		watches:   map[*subscription]struct{}{},
		done:      make(chan struct{}),
	}
}

// at returns the newest version of key at or before rev.
func (s *Store) at(key string, rev int64) (version, bool) {
	vs := s.history[key]
	i := sort.Search(len(vs), func(i int) bool { return vs[i].rev > rev })
	if i == 0 {
		return version{}, false
	}
	return vs[i-1], true
}

func (s *Store) current(key string) (version, bool) {
	vs := s.history[key]
	if len(vs) == 0 || vs[len(vs)-1].deleted {
		return version{}, false
	}
	return vs[len(vs)-1], true
}

// commit records a write at the next revision; s.mu must be held.
func (s *Store) commit(key string, v version, ev interfaces.Event) int64 {
	s.rev++
	v.rev = s.rev
	if _, ok := s.history[key]; !ok {
		i := sort.SearchStrings(s.keys, key)
		s.keys = append(s.keys, "")
		copy(s.keys[i+1:], s.keys[i:])
		s.keys[i] = key
	}
	s.history[key] = append(s.history[key], v)
	ev.KV.ModRevision = s.rev
	s.log = append(s.log, ev)
	for w := range s.watches {
		if strings.HasPrefix(key, w.prefix) {
			select {
			case w.wake <- struct{}{}:
			default: // already woken: it will read this event with the earlier one's
			}
		}
	}
	return s.rev
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Create implements interfaces.Store.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	if _, ok := s.current(key); ok {
		return 0, interfaces.NewKeyExists(key)
	}
	createRev := s.rev + 1
	v := version{createRev: createRev, value: clone(value)}
	ev := interfaces.Event{Type: interfaces.EventCreated, KV: interfaces.KeyValue{Key: key, Value: clone(value), CreateRevision: createRev}}
	return s.commit(key, v, ev), nil
}

// Get implements interfaces.Store.
func (s *Store) Get(ctx context.Context, key string) (interfaces.KeyValue, error) {
	if err := ctx.Err(); err != nil {
		return interfaces.KeyValue{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return interfaces.KeyValue{}, errClosed
	}
	v, ok := s.current(key)
	if !ok {
		return interfaces.KeyValue{}, interfaces.NewKeyNotFound(key)
	}
	return interfaces.KeyValue{Key: key, Value: clone(v.value), CreateRevision: v.createRev, ModRevision: v.rev}, nil
}

// List implements interfaces.Store.
func (s *Store) List(ctx context.Context, prefix string, opts interfaces.ListOptions) (interfaces.ListResult, error) {
	if err := ctx.Err(); err != nil {
		return interfaces.ListResult{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return interfaces.ListResult{}, errClosed
	}
	rev, start := opts.Revision, prefix
	var tok storetoken.Token
	if opts.Continue != "" {
		var err error
		if tok, err = storetoken.Decode(opts.Continue, prefix); err != nil {
			return interfaces.ListResult{}, err
		}
		rev, start = tok.Revision, tok.After+"\x00"
		if rev == storetoken.Latest {
			rev = 0
		}
	}
	if rev == 0 {
		rev = s.rev
	}
	if rev > s.rev {
		return interfaces.ListResult{}, interfaces.NewBadRequest("revision %d is in the future (current %d)", rev, s.rev)
	}
	if rev < s.compacted {
		if opts.Continue != "" {
			tok.Revision = storetoken.Latest
			return interfaces.ListResult{}, interfaces.NewExpiredContinue(rev, s.compacted, storetoken.Encode(tok))
		}
		return interfaces.ListResult{}, interfaces.NewExpired(rev, s.compacted)
	}
	res := interfaces.ListResult{Revision: rev}
	i := sort.SearchStrings(s.keys, start)
	var remaining int64
	for ; i < len(s.keys) && strings.HasPrefix(s.keys[i], prefix); i++ {
		key := s.keys[i]
		v, ok := s.at(key, rev)
		if !ok || v.deleted {
			continue
		}
		if opts.Limit > 0 && int64(len(res.Items)) >= opts.Limit {
			remaining++
			continue
		}
		res.Items = append(res.Items, interfaces.KeyValue{Key: key, Value: clone(v.value), CreateRevision: v.createRev, ModRevision: v.rev})
	}
	if remaining > 0 {
		last := res.Items[len(res.Items)-1].Key
		res.Continue = storetoken.Encode(storetoken.Token{Revision: rev, Prefix: prefix, After: last})
		res.RemainingItemCount = &remaining
	}
	return res, nil
}

// Update implements interfaces.Store.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	cur, ok := s.current(key)
	if !ok {
		return 0, interfaces.NewKeyNotFound(key)
	}
	if expectedRevision != 0 && cur.rev != expectedRevision {
		return 0, interfaces.NewRevisionConflict(key, expectedRevision, cur.rev)
	}
	v := version{createRev: cur.createRev, value: clone(value)}
	ev := interfaces.Event{Type: interfaces.EventUpdated,
		KV:        interfaces.KeyValue{Key: key, Value: clone(value), CreateRevision: cur.createRev},
		PrevValue: clone(cur.value)}
	return s.commit(key, v, ev), nil
}

// Delete implements interfaces.Store.
func (s *Store) Delete(ctx context.Context, key string, expectedRevision int64) (interfaces.KeyValue, error) {
	if err := ctx.Err(); err != nil {
		return interfaces.KeyValue{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return interfaces.KeyValue{}, errClosed
	}
	cur, ok := s.current(key)
	if !ok {
		return interfaces.KeyValue{}, interfaces.NewKeyNotFound(key)
	}
	if expectedRevision != 0 && cur.rev != expectedRevision {
		return interfaces.KeyValue{}, interfaces.NewRevisionConflict(key, expectedRevision, cur.rev)
	}
	v := version{createRev: cur.createRev, deleted: true}
	kv := interfaces.KeyValue{Key: key, Value: clone(cur.value), CreateRevision: cur.createRev}
	ev := interfaces.Event{Type: interfaces.EventDeleted, KV: kv, PrevValue: clone(cur.value)}
	kv.ModRevision = s.commit(key, v, ev)
	return kv, nil
}

// Compact implements interfaces.Store.
func (s *Store) Compact(ctx context.Context, revision int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if revision > s.rev {
		return interfaces.NewBadRequest("cannot compact to revision %d: the current revision is %d", revision, s.rev)
	}
	if revision <= s.compacted {
		return nil
	}
	s.compacted = revision
	keys := s.keys[:0]
	for _, key := range s.keys {
		vs := s.history[key]
		// Keep the newest version at or before revision, and all after it.
		i := sort.Search(len(vs), func(i int) bool { return vs[i].rev > revision })
		if i > 0 {
			if vs[i-1].deleted {
				vs = vs[i:]
			} else {
				vs = vs[i-1:]
			}
		}
		if len(vs) == 0 {
			delete(s.history, key)
			continue
		}
		s.history[key] = append([]version(nil), vs...)
		keys = append(keys, key)
	}
	s.keys = keys
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].KV.ModRevision >= revision })
	s.log = append([]interfaces.Event(nil), s.log[i:]...)
	return nil
}

// CurrentRevision implements interfaces.Store.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, errClosed
	}
	return s.rev, nil
}

// Close implements interfaces.Store. It ends every watch.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	return nil
}

// Watch implements interfaces.Store.
func (s *Store) Watch(ctx context.Context, prefix string, fromRevision int64) (interfaces.Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if fromRevision == 0 {
		fromRevision = s.rev
	}
	if fromRevision+1 < s.compacted {
		return nil, interfaces.NewExpired(fromRevision, s.compacted)
	}
	// Registered before its first read of the log: no write after that read goes unseen.
	sub := &subscription{prefix: prefix, wake: make(chan struct{}, 1)}
	s.watches[sub] = struct{}{}
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{events: make(chan interfaces.Event, 100), cancel: cancel, wake: sub.wake}
	go w.run(ctx, s, sub, fromRevision)
	return w, nil
}

// subscription is a running watch's prefix and the channel a write under it wakes it on
// (buffered: a wake-up is never lost, several writes may share one).
type subscription struct {
	prefix string
	wake   chan struct{}
}

type watcher struct {
	events chan interfaces.Event
	cancel context.CancelFunc
	wake   chan struct{} // the subscription's
	mu     sync.Mutex
	err    error
	// progress is set by RequestProgress and cleared when the watcher answers it.
	progress atomic.Bool
}

// RequestProgress implements interfaces.ProgressWatcher: the watcher sends an EventProgress
// with the store's revision once it has sent every change up to it.
func (w *watcher) RequestProgress(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.progress.Store(true)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

func (w *watcher) Events() <-chan interfaces.Event { return w.events }

func (w *watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *watcher) Stop() { w.cancel() }

// pending returns the events after rev under prefix and the revision they reach up to.
func (s *Store) pending(prefix string, after int64) ([]interfaces.Event, int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, 0, errClosed
	}
	if after+1 < s.compacted {
		return nil, 0, interfaces.NewExpired(after, s.compacted)
	}
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].KV.ModRevision > after })
	var out []interfaces.Event
	for _, ev := range s.log[i:] {
		if strings.HasPrefix(ev.KV.Key, prefix) {
			out = append(out, ev)
		}
	}
	return out, s.rev, nil
}

func (w *watcher) run(ctx context.Context, s *Store, sub *subscription, after int64) {
	defer close(w.events)
	defer func() {
		s.mu.Lock()
		delete(s.watches, sub)
		s.mu.Unlock()
	}()
	for {
		// Taken before the read: a request made after it wakes the loop again.
		progress := w.progress.Swap(false)
		evs, upTo, err := s.pending(sub.prefix, after)
		if err != nil {
			if !errors.Is(err, errClosed) {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
			return
		}
		for _, ev := range evs {
			ev.KV.Value = clone(ev.KV.Value)
			ev.PrevValue = clone(ev.PrevValue)
			select {
			case w.events <- ev:
				after = ev.KV.ModRevision
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
		after = upTo
		if progress {
			select {
			case w.events <- interfaces.Event{Type: interfaces.EventProgress, KV: interfaces.KeyValue{ModRevision: upTo}}:
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-sub.wake:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}
