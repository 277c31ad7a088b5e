package etcdstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// harness is the etcd store on embedded etcd, as the conformance suite
// drives it.
func harness() conformance.StoreHarness {
	return conformance.StoreHarness{
		Name: "etcd-embedded",
		Open: func(ctx context.Context, dir string) (interfaces.Store, error) {
			return etcdstore.Open(ctx, etcdstore.Config{DataDir: dir, UnsafeNoFsync: true})
		},
		Durable: true,
		SaveSnapshot: func(ctx context.Context, s interfaces.Store, path string) error {
			es, ok := s.(*etcdstore.Store)
			if !ok {
				return errors.New("not an etcd store")
			}
			return etcdstore.SaveSnapshot(ctx, es.Client(), path)
		},
		RestoreSnapshot: func(ctx context.Context, path, dir string) error {
			return etcdstore.RestoreSnapshot(ctx, path, dir, nil)
		},
	}
}

func TestConformance(t *testing.T) {
	conformance.RunStore(t, harness())
}
