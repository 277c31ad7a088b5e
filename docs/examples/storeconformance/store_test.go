package storeconformance_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// openMyStore stands in for your store's constructor. dir is a fresh,
// empty directory for every spec; a durable store keeps its data there.
func openMyStore(_ context.Context, _ string) (interfaces.Store, error) {
	return memory.New(), nil
}

func TestMyStoreConformance(t *testing.T) {
	conformance.RunStore(t, conformance.StoreHarness{
		Name: "mystore",
		Open: openMyStore,
		// Declare what your store can do; specs needing more are skipped
		// with the reason printed.
		Durable: false,
		// SaveSnapshot and RestoreSnapshot, if your store has snapshots:
		// SaveSnapshot:    func(ctx context.Context, s interfaces.Store, path string) error { ... },
		// RestoreSnapshot: func(ctx context.Context, path, dir string) error { ... },
	})
}
