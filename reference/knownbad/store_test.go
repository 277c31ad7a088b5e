package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/knownbad"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// TestStoreSuiteRejectsKnownBadStores runs the whole store suite against each
// known-bad store and asserts that the specs aimed at its bug fail.
func TestStoreSuiteRejectsKnownBadStores(t *testing.T) {
	t.Parallel()
	for _, e := range entries(t, "store") {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, e, &knownbad.Env{}) // every store spec
		})
	}
}

// TestStoreSuiteAcceptsTheReference guards the self-test: the unbroken
// store passes everything it runs, so the failures above are the bugs'.
func TestStoreSuiteAcceptsTheReference(t *testing.T) {
	results := conformance.CheckStore(context.Background(), conformance.StoreHarness{
		Name: "memory",
		Open: func(context.Context, string) (interfaces.Store, error) { return memory.New(), nil },
	})
	if failed := results.Failed(); len(failed) > 0 {
		t.Fatalf("the reference store failed %v:\n%s", failed, results)
	}
}
