package harness

import (
	"context"
	"fmt"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// MemoryStore is the in-memory store: neither durable nor snapshottable.
func MemoryStore() conformance.StoreHarness {
	return conformance.StoreHarness{
		Name:          "memory",
		Open:          func(context.Context, string) (interfaces.Store, error) { return memory.New(), nil },
		WatchProgress: true,
	}
}

// EtcdStore is the etcd store on an embedded etcd in dir. Fsync is off (the
// data is thrown away after each spec; a clean Close still persists
// everything, so durability across Close and Open is tested for real).
func EtcdStore() conformance.StoreHarness {
	return conformance.StoreHarness{
		Name: "etcd",
		Open: func(ctx context.Context, dir string) (interfaces.Store, error) {
			return etcdstore.Open(ctx, etcdstore.Config{DataDir: dir, UnsafeNoFsync: true})
		},
		Durable:       true,
		WatchProgress: true,
		SaveSnapshot: func(ctx context.Context, s interfaces.Store, path string) error {
			es, ok := s.(*etcdstore.Store)
			if !ok {
				return fmt.Errorf("etcd harness: cannot snapshot a %T", s)
			}
			return etcdstore.SaveSnapshot(ctx, es.Client(), path)
		},
		RestoreSnapshot: func(ctx context.Context, path, dir string) error {
			return etcdstore.RestoreSnapshot(ctx, path, dir, nil)
		},
	}
}

// Stores returns the reference store harnesses by name.
func Stores() map[string]conformance.StoreHarness {
	return map[string]conformance.StoreHarness{"memory": MemoryStore(), "etcd": EtcdStore()}
}
