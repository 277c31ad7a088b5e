package registry_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

func TestDefaultTable(t *testing.T) {
	reg := registry.Default()
	for _, res := range reg.Resources() {
		t.Run(res.Resource, func(t *testing.T) {
			if res.Kind == "" || (res.ListKind == "" && !res.Ephemeral) || res.Singular == "" || len(res.Verbs) == 0 {
				t.Fatalf("incomplete entry %+v", res)
			}
			if reg.ForKind(res.GroupVersionKind()) != res || reg.Lookup(res.GroupVersionResource) != res {
				t.Fatal("lookup by kind or resource does not find the entry")
			}
			if res.Fields != nil {
				set := res.FieldSet(res.New(), "n", "ns")
				for _, f := range res.FieldLabels {
					if _, ok := set[f]; !ok {
						t.Errorf("field label %s has no value", f)
					}
				}
			}
		})
	}
	if reg.Lookup(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Subresource("eviction").Group != "policy" {
		t.Error("pods/eviction must be policy Eviction")
	}
}

func TestRejectsDuplicates(t *testing.T) {
	res := registry.DefaultResources()
	if _, err := registry.New(append(res, res[0])); err == nil {
		t.Fatal("duplicate resource accepted")
	}
}
