package memory_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

func TestConformance(t *testing.T) {
	conformance.RunStore(t, conformance.StoreHarness{
		Name: "memory",
		Open: func(context.Context, string) (interfaces.Store, error) { return memory.New(), nil },
	})
}
