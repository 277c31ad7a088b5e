package knownbad_test

import (
	"context"
	"slices"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// entries returns the catalogue's known-bad implementations of one component.
func entries(t *testing.T, component string) []knownbad.Entry {
	t.Helper()
	var es []knownbad.Entry
	for _, e := range knownbad.Catalogue() {
		if e.Component == component {
			es = append(es, e)
		}
	}
	if len(es) == 0 {
		t.Fatalf("the catalogue has no known-bad %s", component)
	}
	return es
}

// checkRejected runs the specs listed (every spec of the component when none is) against the
// known-bad and asserts that each of its MustFail specs failed and none of its MustPass did.
func checkRejected(t *testing.T, e knownbad.Entry, env *knownbad.Env, ids ...string) conformance.Results {
	t.Helper()
	results := e.Check(context.Background(), env, ids...)
	failed := map[string]bool{}
	for _, id := range results.Failed() {
		failed[id] = true
	}
	for _, id := range e.MustFail {
		if !failed[id] {
			t.Errorf("the suite did not reject the bug %q through %s", e.Name, id)
		}
	}
	for _, id := range e.MustPass {
		if failed[id] {
			t.Errorf("%s failed against %q, whose bug is elsewhere: the harness itself is broken", id, e.Name)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("results:\n%s", results)
	}
	return results
}

// TestCatalogueNamesRealSpecs: every entry belongs to a known component, has a name unique
// in it, and names at least one spec that must fail; every spec it names is in the
// behaviour catalogue (a renamed spec must not leave a known-bad judged by nothing).
func TestCatalogueNamesRealSpecs(t *testing.T) {
	behaviors, err := conformance.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, b := range behaviors {
		known[b.ID] = true
	}
	seen := map[string]bool{}
	perComponent := map[string]int{}
	for _, e := range knownbad.Catalogue() {
		if !slices.Contains(knownbad.Components(), e.Component) {
			t.Errorf("%q: unknown component %q", e.Name, e.Component)
		}
		key := e.Component + "/" + e.Name
		if seen[key] {
			t.Errorf("%s: listed twice", key)
		}
		seen[key] = true
		perComponent[e.Component]++
		if len(e.MustFail) == 0 {
			t.Errorf("%s: no spec must fail", key)
		}
		for _, id := range e.Specs() {
			if !known[id] {
				t.Errorf("%s: spec %s is not in the behaviour catalogue", key, id)
			}
		}
	}
	for _, c := range knownbad.Components() {
		if perComponent[c] == 0 {
			t.Errorf("component %s has no known-bad implementation", c)
		}
	}
}
