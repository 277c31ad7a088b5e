package etcdstore_test

// The benchmarks run the same operations through the contract on the memory
// store and on the etcd store (embedded etcd, fsync off), and through raw
// clientv3 on the same embedded etcd, so the contract's overhead shows as the
// ratio etcd-store / raw-clientv3:
//
//	go test -bench . -run '^$' -benchtime 2000x ./reference/store/etcd

import (
	"context"
	"fmt"
	"testing"

	"github.com/clusterkit/clusterkit/interfaces"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
	"github.com/clusterkit/clusterkit/reference/store/memory"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// target is one way of running the benchmarked operations.
type target struct {
	name string
	// open returns the operations; cleanup runs when the benchmark ends.
	open func(b *testing.B) ops
}

type ops struct {
	put   func(ctx context.Context, key, value string) error
	get   func(ctx context.Context, key string) error
	list  func(ctx context.Context, prefix string) (int, error)
	watch func(ctx context.Context, prefix string) (next func() error, stop func())
}

func contractOps(s interfaces.Store) ops {
	return ops{
		put: func(ctx context.Context, key, value string) error {
			_, err := s.Create(ctx, key, []byte(value))
			return err
		},
		get: func(ctx context.Context, key string) error {
			_, err := s.Get(ctx, key)
			return err
		},
		list: func(ctx context.Context, prefix string) (int, error) {
			page, err := s.List(ctx, prefix, interfaces.ListOptions{})
			return len(page.Items), err
		},
		watch: func(ctx context.Context, prefix string) (func() error, func()) {
			w, err := s.Watch(ctx, prefix, 0)
			if err != nil {
				return func() error { return err }, func() {}
			}
			return func() error {
				if _, ok := <-w.Events(); !ok {
					return fmt.Errorf("watch ended: %v", w.Err())
				}
				return nil
			}, w.Stop
		},
	}
}

func rawOps(c *clientv3.Client) ops {
	return ops{
		put: func(ctx context.Context, key, value string) error {
			_, err := c.Put(ctx, key, value)
			return err
		},
		get: func(ctx context.Context, key string) error {
			resp, err := c.Get(ctx, key)
			if err == nil && len(resp.Kvs) == 0 {
				return fmt.Errorf("%s not found", key)
			}
			return err
		},
		list: func(ctx context.Context, prefix string) (int, error) {
			resp, err := c.Get(ctx, prefix, clientv3.WithPrefix())
			if err != nil {
				return 0, err
			}
			return len(resp.Kvs), nil
		},
		watch: func(ctx context.Context, prefix string) (func() error, func()) {
			// Start after the current revision, as the store does, so no
			// write made after this call is missed.
			resp, err := c.Get(ctx, prefix, clientv3.WithCountOnly())
			if err != nil {
				return func() error { return err }, func() {}
			}
			wctx, cancel := context.WithCancel(ctx)
			wch := c.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(resp.Header.Revision+1))
			var pending []*clientv3.Event
			return func() error {
				for len(pending) == 0 {
					resp, ok := <-wch
					if !ok {
						return fmt.Errorf("watch ended")
					}
					if err := resp.Err(); err != nil {
						return err
					}
					pending = append(pending, resp.Events...)
				}
				pending = pending[1:]
				return nil
			}, cancel
		},
	}
}

// targets returns the three targets; the etcd ones share one embedded etcd
// started for the benchmark function.
func targets(b *testing.B) []target {
	b.Helper()
	e, err := etcdstore.StartEmbedded(b.Context(), etcdstore.EmbeddedConfig{DataDir: b.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	client, err := e.Client()
	if err != nil {
		b.Fatal(err)
	}
	run := 0
	return []target{
		{name: "memory", open: func(b *testing.B) ops {
			s := memory.New()
			b.Cleanup(func() { _ = s.Close() })
			return contractOps(s)
		}},
		{name: "etcd-store", open: func(b *testing.B) ops {
			run++
			return contractOps(etcdstore.New(client, etcdstore.WithPrefix(fmt.Sprintf("/store%d", run))))
		}},
		{name: "raw-clientv3", open: func(b *testing.B) ops {
			run++
			prefix := fmt.Sprintf("/raw%d", run)
			o := rawOps(client)
			// Prefix keys like the store does, so both write the same bytes.
			return ops{
				put:  func(ctx context.Context, k, v string) error { return o.put(ctx, prefix+k, v) },
				get:  func(ctx context.Context, k string) error { return o.get(ctx, prefix+k) },
				list: func(ctx context.Context, p string) (int, error) { return o.list(ctx, prefix+p) },
				watch: func(ctx context.Context, p string) (func() error, func()) {
					return o.watch(ctx, prefix+p)
				},
			}
		}},
	}
}

const benchValue = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"bench","namespace":"default"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`

func BenchmarkPut(b *testing.B) {
	for _, tg := range targets(b) {
		b.Run(tg.name, func(b *testing.B) {
			o := tg.open(b)
			ctx := b.Context()
			i := 0
			for b.Loop() {
				if err := o.put(ctx, fmt.Sprintf("/put/k%09d", i), benchValue); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, tg := range targets(b) {
		b.Run(tg.name, func(b *testing.B) {
			o := tg.open(b)
			ctx := b.Context()
			if err := o.put(ctx, "/get/k", benchValue); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := o.get(ctx, "/get/k"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkList1000(b *testing.B) {
	for _, tg := range targets(b) {
		b.Run(tg.name, func(b *testing.B) {
			o := tg.open(b)
			ctx := b.Context()
			for i := range 1000 {
				if err := o.put(ctx, fmt.Sprintf("/list/k%04d", i), benchValue); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				n, err := o.list(ctx, "/list/")
				if err != nil || n != 1000 {
					b.Fatalf("list = %d, %v", n, err)
				}
			}
		})
	}
}

// BenchmarkWatchLatency writes one key and waits for its event: ns/op is a
// write plus the delivery of its event.
func BenchmarkWatchLatency(b *testing.B) {
	for _, tg := range targets(b) {
		b.Run(tg.name, func(b *testing.B) {
			o := tg.open(b)
			ctx := b.Context()
			next, stop := o.watch(ctx, "/watch/")
			defer stop()
			i := 0
			for b.Loop() {
				if err := o.put(ctx, fmt.Sprintf("/watch/k%09d", i), benchValue); err != nil {
					b.Fatal(err)
				}
				if err := next(); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkWatchThroughput writes b.N keys from 8 writers while one watcher
// reads: ns/op is the time per delivered event under load.
func BenchmarkWatchThroughput(b *testing.B) {
	const writers = 8
	for _, tg := range targets(b) {
		b.Run(tg.name, func(b *testing.B) {
			o := tg.open(b)
			ctx := b.Context()
			next, stop := o.watch(ctx, "/tput/")
			defer stop()
			n := b.N
			b.ResetTimer()
			errc := make(chan error, writers)
			for w := range writers {
				go func() {
					for i := w; i < n; i += writers {
						if err := o.put(ctx, fmt.Sprintf("/tput/k%09d", i), benchValue); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
			}
			for range n {
				if err := next(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			for range writers {
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
