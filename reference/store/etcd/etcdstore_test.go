package etcdstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/interfaces"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// openStore opens a store on embedded etcd in a fresh directory.
func openStore(t testing.TB) *etcdstore.Store {
	t.Helper()
	s, err := etcdstore.Open(t.Context(), etcdstore.Config{DataDir: filepath.Join(t.TempDir(), "etcd"), UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustCreate(t testing.TB, s interfaces.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Create(context.Background(), key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func wantClass(t *testing.T, err error, name string, is func(error) bool) {
	t.Helper()
	if err == nil || !is(err) {
		t.Fatalf("want a %s error, got %v", name, err)
	}
}

func TestSingleKeyOperations(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)

	r1 := mustCreate(t, s, "/a", "one")
	_, err := s.Create(ctx, "/a", []byte("again"))
	wantClass(t, err, "AlreadyExists", apierrors.IsAlreadyExists)

	_, err = s.Get(ctx, "/missing")
	wantClass(t, err, "NotFound", apierrors.IsNotFound)

	kv, err := s.Get(ctx, "/a")
	if err != nil || string(kv.Value) != "one" || kv.CreateRevision != r1 || kv.ModRevision != r1 || kv.Key != "/a" {
		t.Fatalf("Get(/a) = %+v, %v; want value one at revision %d", kv, err, r1)
	}

	tests := []struct {
		name     string
		key      string
		expected int64
		class    func(error) bool
	}{
		{name: "stale revision conflicts", key: "/a", expected: r1 - 1, class: apierrors.IsConflict},
		{name: "missing key unconditional", key: "/missing", expected: 0, class: apierrors.IsNotFound},
		{name: "missing key conditional", key: "/missing", expected: r1, class: apierrors.IsNotFound},
	}
	for _, tc := range tests {
		t.Run("update "+tc.name, func(t *testing.T) {
			_, err := s.Update(ctx, tc.key, []byte("x"), tc.expected)
			wantClass(t, err, tc.name, tc.class)
		})
		t.Run("delete "+tc.name, func(t *testing.T) {
			_, err := s.Delete(ctx, tc.key, tc.expected)
			wantClass(t, err, tc.name, tc.class)
		})
	}
	if kv, _ := s.Get(ctx, "/a"); string(kv.Value) != "one" {
		t.Fatalf("failed writes changed /a to %q", kv.Value)
	}

	r2, err := s.Update(ctx, "/a", []byte("two"), r1)
	if err != nil || r2 <= r1 {
		t.Fatalf("Update at the right revision = %d, %v; want a revision > %d", r2, err, r1)
	}
	r3, err := s.Update(ctx, "/a", []byte("three"), 0)
	if err != nil || r3 <= r2 {
		t.Fatalf("unconditional Update = %d, %v; want a revision > %d", r3, err, r2)
	}
	prev, err := s.Delete(ctx, "/a", r3)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if string(prev.Value) != "three" || prev.CreateRevision != r1 || prev.ModRevision <= r3 {
		t.Fatalf("Delete returned %+v; want value three, created at %d, deleted after %d", prev, r1, r3)
	}
	cur, err := s.CurrentRevision(ctx)
	if err != nil || cur != prev.ModRevision {
		t.Fatalf("CurrentRevision = %d, %v; want the delete's revision %d", cur, err, prev.ModRevision)
	}
	_, err = s.Delete(ctx, "/a", 0)
	wantClass(t, err, "NotFound", apierrors.IsNotFound)

	mustCreate(t, s, "/empty", "")
	if kv, err := s.Get(ctx, "/empty"); err != nil || kv.Value == nil || len(kv.Value) != 0 {
		t.Fatalf("Get of an empty value = %#v, %v; want a non-nil empty value", kv.Value, err)
	}
}

func TestListPagesAtOneRevision(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	for i := range 5 {
		mustCreate(t, s, fmt.Sprintf("/pods/p%d", i), fmt.Sprintf("v%d", i))
	}
	mustCreate(t, s, "/podsx", "not under /pods/")
	mustCreate(t, s, "/nodes/n0", "n")

	first, err := s.List(ctx, "/pods/", interfaces.ListOptions{Limit: 2})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(first.Items) != 2 || first.Continue == "" || first.RemainingItemCount == nil || *first.RemainingItemCount != 3 {
		t.Fatalf("first page = %d items, continue %q, remaining %v; want 2, a token, 3", len(first.Items), first.Continue, first.RemainingItemCount)
	}
	// Writes between pages must not show up in later pages.
	mustCreate(t, s, "/pods/p2a", "late")
	if _, err := s.Delete(ctx, "/pods/p4", 0); err != nil {
		t.Fatal(err)
	}

	keys := []string{first.Items[0].Key, first.Items[1].Key}
	token := first.Continue
	for token != "" {
		page, err := s.List(ctx, "/pods/", interfaces.ListOptions{Limit: 2, Continue: token})
		if err != nil {
			t.Fatalf("List next page: %v", err)
		}
		if page.Revision != first.Revision {
			t.Fatalf("page revision %d, first page %d", page.Revision, first.Revision)
		}
		for _, kv := range page.Items {
			keys = append(keys, kv.Key)
		}
		token = page.Continue
	}
	if got, want := strings.Join(keys, ","), "/pods/p0,/pods/p1,/pods/p2,/pods/p3,/pods/p4"; got != want {
		t.Fatalf("paged keys = %s; want %s", got, want)
	}

	all, err := s.List(ctx, "", interfaces.ListOptions{})
	if err != nil || len(all.Items) != 7 || all.Continue != "" || all.RemainingItemCount != nil {
		t.Fatalf("List of everything = %d items, %q, %v; want 7 items in one page", len(all.Items), all.Continue, err)
	}

	bad := []struct {
		name, prefix, token string
	}{
		{name: "not base64", prefix: "/pods/", token: "%%%"},
		{name: "not json", prefix: "/pods/", token: "bm90IGpzb24"},
		{name: "other prefix", prefix: "/nodes/", token: first.Continue},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.List(ctx, tc.prefix, interfaces.ListOptions{Limit: 2, Continue: tc.token})
			wantClass(t, err, "BadRequest", apierrors.IsBadRequest)
		})
	}

	cur, _ := s.CurrentRevision(ctx)
	if err := s.Compact(ctx, cur); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	_, err = s.List(ctx, "/pods/", interfaces.ListOptions{Limit: 2, Continue: first.Continue})
	wantClass(t, err, "Expired", interfaces.IsExpired)
	_, err = s.List(ctx, "/pods/", interfaces.ListOptions{Revision: first.Revision})
	wantClass(t, err, "Expired", interfaces.IsExpired)
}

func TestCompact(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	r1 := mustCreate(t, s, "/k", "1")
	r2, _ := s.Update(ctx, "/k", []byte("2"), 0)
	r3, _ := s.Update(ctx, "/k", []byte("3"), 0)

	if err := s.Compact(ctx, r2); err != nil {
		t.Fatalf("Compact(%d): %v", r2, err)
	}
	if err := s.Compact(ctx, r1); err != nil {
		t.Fatalf("Compact below an earlier compaction must be a no-op, got %v", err)
	}
	if err := s.Compact(ctx, r2); err != nil {
		t.Fatalf("Compact at an earlier compaction must be a no-op, got %v", err)
	}
	wantClass(t, s.Compact(ctx, r3+100), "BadRequest", apierrors.IsBadRequest)

	page, err := s.List(ctx, "/k", interfaces.ListOptions{Revision: r2})
	if err != nil || len(page.Items) != 1 || string(page.Items[0].Value) != "2" {
		t.Fatalf("List at the compaction revision = %+v, %v; want value 2", page.Items, err)
	}
	_, err = s.List(ctx, "/k", interfaces.ListOptions{Revision: r1})
	wantClass(t, err, "Expired", interfaces.IsExpired)
	_, err = s.Watch(ctx, "/k", r1)
	wantClass(t, err, "Expired", interfaces.IsExpired)
}

// collect reads n events or fails at the deadline.
func collect(t *testing.T, w interfaces.Watcher, n int) []interfaces.Event {
	t.Helper()
	var out []interfaces.Event
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended after %d of %d events: %v", len(out), n, w.Err())
			}
			out = append(out, ev)
		case <-deadline:
			t.Fatalf("got %d of %d events before the deadline", len(out), n)
		}
	}
	return out
}

func TestWatch(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	r0 := mustCreate(t, s, "/w/before", "old")

	now, err := s.Watch(ctx, "/w/", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer now.Stop()

	r1 := mustCreate(t, s, "/w/a", "1")
	r2, _ := s.Update(ctx, "/w/a", []byte("2"), r1)
	mustCreate(t, s, "/other", "ignored")
	del, _ := s.Delete(ctx, "/w/a", r2)

	want := []interfaces.Event{
		{Type: interfaces.EventCreated, KV: interfaces.KeyValue{Key: "/w/a", Value: []byte("1"), CreateRevision: r1, ModRevision: r1}},
		{Type: interfaces.EventUpdated, KV: interfaces.KeyValue{Key: "/w/a", Value: []byte("2"), CreateRevision: r1, ModRevision: r2}, PrevValue: []byte("1")},
		{Type: interfaces.EventDeleted, KV: interfaces.KeyValue{Key: "/w/a", Value: []byte("2"), CreateRevision: r1, ModRevision: del.ModRevision}, PrevValue: []byte("2")},
	}
	check := func(t *testing.T, got []interfaces.Event) {
		t.Helper()
		for i := range want {
			g, w := got[i], want[i]
			if g.Type != w.Type || g.KV.Key != w.KV.Key || !bytes.Equal(g.KV.Value, w.KV.Value) ||
				g.KV.CreateRevision != w.KV.CreateRevision || g.KV.ModRevision != w.KV.ModRevision || !bytes.Equal(g.PrevValue, w.PrevValue) {
				t.Fatalf("event %d = %+v; want %+v", i, g, w)
			}
		}
	}
	t.Run("from now", func(t *testing.T) { check(t, collect(t, now, 3)) })

	t.Run("from a past revision replays history", func(t *testing.T) {
		w, err := s.Watch(ctx, "/w/", r0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		check(t, collect(t, w, 3))
	})

	t.Run("stop closes events with a nil error", func(t *testing.T) {
		w, err := s.Watch(ctx, "/w/", 0)
		if err != nil {
			t.Fatal(err)
		}
		w.Stop()
		w.Stop()
		select {
		case _, ok := <-w.Events():
			if ok {
				t.Fatal("event after Stop")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("events not closed after Stop")
		}
		if w.Err() != nil {
			t.Fatalf("Err after Stop = %v", w.Err())
		}
	})

	t.Run("cancelling the context ends the watch with a nil error", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		w, err := s.Watch(wctx, "/w/", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		cancel()
		select {
		case _, ok := <-w.Events():
			if ok {
				t.Fatal("event after cancel")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("events not closed after the context was cancelled")
		}
		if w.Err() != nil {
			t.Fatalf("Err after cancel = %v", w.Err())
		}
	})

	t.Run("compacted while catching up ends with Expired", func(t *testing.T) {
		// A watcher that reads nothing falls behind; compacting past its
		// position must end it with Expired, not skip events.
		// etcd replays old history to a new watcher in batches; compacting
		// right after the watch starts catches it mid-replay.
		start, _ := s.CurrentRevision(ctx)
		var last int64
		for i := range 3000 {
			last = mustCreate(t, s, fmt.Sprintf("/lag/k%05d", i), strings.Repeat("x", 100))
		}
		w, err := s.Watch(ctx, "/lag/", start)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if err := s.Compact(ctx, last); err != nil {
			t.Fatal(err)
		}
		var got int64
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev, ok := <-w.Events():
				if !ok {
					if got == 3000 {
						t.Skip("the watcher caught up before the compaction; nothing to check")
					}
					if !interfaces.IsExpired(w.Err()) {
						t.Fatalf("watch ended after %d events with %v; want Expired", got, w.Err())
					}
					t.Logf("watch ended with Expired after %d events: %v", got, w.Err())
					return
				}
				got++
				if ev.KV.ModRevision != start+got {
					t.Fatalf("gap: event %d at revision %d, want %d", got, ev.KV.ModRevision, start+got)
				}
				if got == 3000 {
					// Delivered everything: also fine (etcd sent it all
					// before compacting).
					t.Log("the watcher caught up before the compaction")
					return
				}
			case <-deadline:
				t.Fatalf("watch neither ended nor delivered everything (%d events)", got)
			}
		}
	})
}

func TestPrefixIsolation(t *testing.T) {
	ctx := t.Context()
	base := openStore(t)
	a := etcdstore.New(base.Client(), etcdstore.WithPrefix("/a"))
	b := etcdstore.New(base.Client(), etcdstore.WithPrefix("/b"))
	mustCreate(t, a, "/k", "from a")
	mustCreate(t, b, "/k", "from b")

	for _, tc := range []struct {
		name  string
		store *etcdstore.Store
		want  string
	}{{"a", a, "from a"}, {"b", b, "from b"}} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := tc.store.List(ctx, "", interfaces.ListOptions{})
			if err != nil || len(page.Items) != 1 || page.Items[0].Key != "/k" || string(page.Items[0].Value) != tc.want {
				t.Fatalf("List = %+v, %v; want only /k = %q", page.Items, err, tc.want)
			}
		})
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "/k"); err == nil || apierrors.IsNotFound(err) {
		t.Fatalf("Get after Close = %v; want a backend error", err)
	}
	// Closing a store from New leaves the shared client usable.
	if _, err := b.Get(ctx, "/k"); err != nil {
		t.Fatalf("Get on the other store after closing the first: %v", err)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "etcd")
	s, err := etcdstore.Open(ctx, etcdstore.Config{DataDir: dir, UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	rev := mustCreate(t, s, "/k", "v")

	_, err = etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second etcd on the same data directory: %v; want an 'in use' error", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "/k"); err == nil {
		t.Fatal("Get after Close succeeded")
	}
	s2, err := etcdstore.Open(ctx, etcdstore.Config{DataDir: dir, UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	kv, err := s2.Get(ctx, "/k")
	if err != nil || string(kv.Value) != "v" || kv.ModRevision != rev {
		t.Fatalf("after reopen Get = %+v, %v; want v at %d", kv, err, rev)
	}
}

func TestExternalEndpoints(t *testing.T) {
	ctx := t.Context()
	e, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	s, err := etcdstore.Open(ctx, etcdstore.Config{Endpoints: e.Endpoints(), Prefix: "/ck"})
	if err != nil {
		t.Fatalf("Open with endpoints %v: %v", e.Endpoints(), err)
	}
	mustCreate(t, s, "/x", "y")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The write went to the server under the prefix.
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(ctx, "/ck/x")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "y" {
		t.Fatalf("raw Get /ck/x = %v, %v", resp, err)
	}

	// Nothing listens on a port we just closed.
	_, err = etcdstore.Open(ctx, etcdstore.Config{Endpoints: []string{closedPort(t)}, DialTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "--etcd-endpoints") {
		t.Fatalf("Open of an unreachable endpoint: %v; want an error naming --etcd-endpoints", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	const n = 10000
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if _, err := s.Create(ctx, fmt.Sprintf("/snap/%05d", i), []byte(fmt.Sprintf("value-%d", i*i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	before, err := s.List(ctx, "/snap/", interfaces.ListOptions{})
	if err != nil || len(before.Items) != n {
		t.Fatalf("List before = %d items, %v", len(before.Items), err)
	}

	path := filepath.Join(t.TempDir(), "snap.db")
	if err := etcdstore.SaveSnapshot(ctx, s.Client(), path); err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	info, err := etcdstore.SnapshotStatus(path)
	if err != nil || info.TotalKeys != n || info.Revision != before.Revision {
		t.Fatalf("SnapshotStatus = %+v, %v; want %d keys at revision %d", info, err, n, before.Revision)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	if err := etcdstore.RestoreSnapshot(ctx, path, dir, nil); err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	err = etcdstore.RestoreSnapshot(ctx, path, dir, nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty directory: %v; want a 'not empty' error", err)
	}

	r, err := etcdstore.Open(ctx, etcdstore.Config{DataDir: dir, UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("Open restored: %v", err)
	}
	defer r.Close()
	after, err := r.List(ctx, "/snap/", interfaces.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != n || after.Revision != before.Revision {
		t.Fatalf("restored %d keys at revision %d; want %d at %d", len(after.Items), after.Revision, n, before.Revision)
	}
	for i := range after.Items {
		a, b := after.Items[i], before.Items[i]
		if a.Key != b.Key || !bytes.Equal(a.Value, b.Value) || a.ModRevision != b.ModRevision || a.CreateRevision != b.CreateRevision {
			t.Fatalf("item %d restored as %+v; saved %+v", i, a, b)
		}
	}
	// The restored store keeps working and moves on from the saved revision.
	rev := mustCreate(t, r, "/snap/new", "x")
	if rev <= before.Revision {
		t.Fatalf("first write after restore at %d; want > %d", rev, before.Revision)
	}
}

func TestRestoreRejectsNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(t.TempDir(), "s.db")
	if err := os.WriteFile(snap, []byte("irrelevant"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := etcdstore.RestoreSnapshot(t.Context(), snap, dir, nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("RestoreSnapshot into a non-empty dir: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep")); string(b) != "precious" {
		t.Fatal("restore touched the existing file")
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestEmbeddedLogsWithoutShutdownNoise(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	e, err := etcdstore.StartEmbedded(t.Context(), etcdstore.EmbeddedConfig{DataDir: t.TempDir(), UnsafeNoFsync: true, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Endpoints()) != 1 || !strings.HasPrefix(e.Endpoints()[0], "127.0.0.1:") {
		t.Fatalf("Endpoints = %v; want one loopback address", e.Endpoints())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if logs.Len() == 0 {
		t.Fatal("the logger received nothing: etcd's logs are not routed to it")
	}
	for _, entry := range logs.All() {
		if entry.Level < zapcore.WarnLevel {
			continue
		}
		text := entry.Message
		for k, v := range entry.ContextMap() {
			text += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(text, "closed") {
			t.Errorf("shutdown noise reached the logger: %s", text)
		}
	}
}
