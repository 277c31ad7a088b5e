package conformance_test

import (
	"os"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
)

// TestCatalogueIsCurrent fails when a spec lacks an ID or a MUST sentence,
// when two specs share an ID, or when docs/behaviors.md is stale.
func TestCatalogueIsCurrent(t *testing.T) {
	all, err := conformance.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	want := conformance.Markdown(all)
	got, err := os.ReadFile("../docs/behaviors.md")
	if err != nil {
		t.Fatalf("reading the catalogue: %v (generate it: go run ./cmd/clusterkit conformance catalogue > docs/behaviors.md)", err)
	}
	if string(got) != want {
		t.Fatalf("docs/behaviors.md is stale: regenerate it with\n\tgo run ./cmd/clusterkit conformance catalogue > docs/behaviors.md")
	}
}

func TestBehaviorCheck(t *testing.T) {
	cases := []struct {
		name string
		b    conformance.Behavior
		ok   bool
	}{
		{"complete", conformance.Behavior{ID: "store.x.y", Component: "store", Must: "it MUST", Source: "s"}, true},
		{"no ID", conformance.Behavior{Component: "store", Must: "it MUST", Source: "s"}, false},
		{"ID of another component", conformance.Behavior{ID: "api.x", Component: "store", Must: "it MUST", Source: "s"}, false},
		{"no MUST", conformance.Behavior{ID: "store.x", Component: "store", Must: "it should", Source: "s"}, false},
		{"no source", conformance.Behavior{ID: "store.x", Component: "store", Must: "it MUST"}, false},
		{"bad characters", conformance.Behavior{ID: "store.X_y", Component: "store", Must: "it MUST", Source: "s"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.b.Check(); (err == nil) != c.ok {
				t.Fatalf("Check() = %v, want ok=%v", err, c.ok)
			}
		})
	}
}
