package knownbad_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/knownbad"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// TestStoreSuiteRejectsKnownBadStores runs the store suite against each
// known-bad store and asserts that the specs aimed at its bug fail.
func TestStoreSuiteRejectsKnownBadStores(t *testing.T) {
	cases := []struct {
		name     string
		wrap     func(interfaces.Store) interfaces.Store
		mustFail []string
	}{
		{"update ignores the expected revision",
			func(s interfaces.Store) interfaces.Store { return knownbad.StoreIgnoringRevision{Store: s} },
			[]string{"store.update.compare-and-swap", "store.update.concurrent-writers", "store.delete.precondition"}},
		{"watch drops events",
			func(s interfaces.Store) interfaces.Store { return knownbad.StoreDroppingWatchEvents{Store: s} },
			[]string{"store.watch.order"}},
		{"watch reorders events",
			func(s interfaces.Store) interfaces.Store { return knownbad.StoreReorderingWatchEvents{Store: s} },
			[]string{"store.watch.order", "store.watch.resume"}},
		{"list is not at a single revision",
			func(s interfaces.Store) interfaces.Store { return knownbad.StoreListingAcrossRevisions{Store: s} },
			[]string{"store.list.at-revision", "store.list.pagination"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			results := conformance.CheckStore(context.Background(), conformance.StoreHarness{
				Name: "knownbad/" + c.name,
				Open: func(context.Context, string) (interfaces.Store, error) { return c.wrap(memory.New()), nil },
			})
			failed := map[string]bool{}
			for _, id := range results.Failed() {
				failed[id] = true
			}
			for _, id := range c.mustFail {
				if !failed[id] {
					t.Errorf("the suite did not reject the bug %q through %s", c.name, id)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("results:\n%s", results)
			}
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
