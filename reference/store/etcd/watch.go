package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/clusterkit/clusterkit/interfaces"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watch implements interfaces.Store.
func (s *Store) Watch(ctx context.Context, prefix string, fromRevision int64) (interfaces.Watcher, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	if fromRevision < 0 {
		return nil, interfaces.NewBadRequest("negative watch revision %d", fromRevision)
	}
	begin, end := rangeKeys(s.full(prefix), s.full(prefix))

	// A read at fromRevision fails at once when that revision is compacted
	// (whatever the key), and its header tells the current revision for
	// "from now". One key, count only: the cheapest read there is.
	readOpts := []clientv3.OpOption{clientv3.WithCountOnly()}
	if fromRevision > 0 {
		readOpts = append(readOpts, clientv3.WithRev(fromRevision))
	}
	resp, err := s.client.Get(ctx, begin, readOpts...)
	switch {
	case err == nil:
		if fromRevision == 0 {
			fromRevision = resp.Header.Revision
		}
	case errors.Is(err, rpctypes.ErrFutureRev):
		// Watching from a revision not written yet is fine: its changes
		// arrive when they happen.
	case errors.Is(err, rpctypes.ErrCompacted):
		return nil, interfaces.NewExpired(fromRevision, s.compactedHint(fromRevision))
	default:
		return nil, fmt.Errorf("etcd watch %q from revision %d: %w", prefix, fromRevision, err)
	}

	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.client.Watch(wctx, begin, clientv3.WithRange(end), clientv3.WithRev(fromRevision+1), clientv3.WithPrevKV())
	w := &watcher{
		store:  s,
		ctx:    wctx,
		events: make(chan interfaces.Event, 100),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go w.run(wctx, wch, fromRevision)
	return w, nil
}

// watcher turns an etcd watch channel into contract events.
type watcher struct {
	store *Store
	// ctx is the watch's context: its gRPC metadata selects the watch stream a progress
	// request goes to.
	ctx    context.Context
	events chan interfaces.Event
	// progress is set once RequestProgress was called: from then on the watcher passes on
	// etcd's progress notifications (etcd sends them to every watch of a stream).
	progress atomic.Bool
	cancel   context.CancelFunc
	done     chan struct{}

	mu  sync.Mutex
	err error
}

func (w *watcher) Events() <-chan interfaces.Event { return w.events }

func (w *watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// RequestProgress implements interfaces.ProgressWatcher with etcd's progress request: etcd
// answers, once the stream's watches have caught up, with a notification carrying its current
// revision, after every event up to it.
func (w *watcher) RequestProgress(ctx context.Context) error {
	w.progress.Store(true)
	rctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if err := w.store.client.RequestProgress(rctx); err != nil {
		return fmt.Errorf("etcd progress request: %w", err)
	}
	return nil
}

func (w *watcher) Stop() {
	w.cancel()
	<-w.done
}

func (w *watcher) run(ctx context.Context, wch clientv3.WatchChan, from int64) {
	defer close(w.done)
	defer close(w.events)
	defer w.cancel()
	err := w.forward(ctx, wch, from)
	if ctx.Err() != nil {
		// Stopped or cancelled: the contract says Err is nil then.
		err = nil
	}
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

func (w *watcher) forward(ctx context.Context, wch clientv3.WatchChan, from int64) error {
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case resp, ok = <-wch:
		}
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			if w.store.closed.Load() {
				return errClosed
			}
			return errors.New("etcd watch ended: the client was closed")
		}
		if resp.CompactRevision != 0 {
			return interfaces.NewExpired(from, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return interfaces.NewExpired(from, w.store.compactedHint(from))
			}
			return fmt.Errorf("etcd watch: %w", err)
		}
		if resp.IsProgressNotify() {
			if !w.progress.Load() {
				continue
			}
			ev := interfaces.Event{Type: interfaces.EventProgress, KV: interfaces.KeyValue{ModRevision: resp.Header.Revision}}
			select {
			case w.events <- ev:
			case <-ctx.Done():
				return nil
			}
			continue
		}
		for _, ev := range resp.Events {
			select {
			case w.events <- w.store.event(ev):
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// event converts one etcd event.
func (s *Store) event(ev *clientv3.Event) interfaces.Event {
	var prev []byte
	if ev.PrevKv != nil {
		prev = ev.PrevKv.Value
		if prev == nil {
			prev = []byte{}
		}
	}
	switch {
	case ev.Type == mvccpb.DELETE:
		kv := interfaces.KeyValue{Key: s.strip(ev.Kv.Key), Value: prev, ModRevision: ev.Kv.ModRevision}
		if ev.PrevKv != nil {
			kv.CreateRevision = ev.PrevKv.CreateRevision
		}
		return interfaces.Event{Type: interfaces.EventDeleted, KV: kv, PrevValue: prev}
	case ev.IsCreate():
		return interfaces.Event{Type: interfaces.EventCreated, KV: s.keyValue(ev.Kv)}
	default:
		return interfaces.Event{Type: interfaces.EventUpdated, KV: s.keyValue(ev.Kv), PrevValue: prev}
	}
}
