package customresource_test

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/customresource"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

func testCRD() *apiextensionsv1.CustomResourceDefinition {
	schema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"replicas": {Type: "integer"},
				"mode":     {Type: "string", Default: &apiextensionsv1.JSON{Raw: []byte(`"fast"`)}, Enum: []apiextensionsv1.JSON{{Raw: []byte(`"fast"`)}, {Raw: []byte(`"slow"`)}}},
			}},
			"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"replicas": {Type: "integer"}}},
		},
	}}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "things.test.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "test.io", Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Singular: "thing", Kind: "Thing", ListKind: "ThingList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1alpha1", Served: false, Storage: false, Schema: schema},
				{Name: "v1", Served: true, Storage: true, Schema: schema, Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
					Scale:  &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas"},
				}},
			},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{
			AcceptedNames: apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Singular: "thing", Kind: "Thing", ListKind: "ThingList"},
		},
	}
}

func TestResources(t *testing.T) {
	entries, err := customresource.NewBuilder(nil).Resources(testCRD())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1 (v1alpha1 is not served)", len(entries))
	}
	res := entries[0]
	if res.GroupVersionResource.String() != "test.io/v1, Resource=things" || res.Namespaced || !res.StatusSplit || res.Scale == nil || res.StorageName != "test.io/things" {
		t.Fatalf("entry: %+v", res)
	}
	obj := res.New().(*unstructured.Unstructured)
	if obj.GetAPIVersion() != "test.io/v1" || obj.GetKind() != "Thing" {
		t.Fatalf("New: %v", obj.Object)
	}
	obj.SetName("a")
	obj.Object["spec"] = map[string]any{"replicas": int64(2), "junk": true}
	obj.Object["status"] = map[string]any{"replicas": int64(1)}
	if paths := res.Strategy.(registry.UnknownFieldsStrategy).UnknownFields(obj); len(paths) != 1 || paths[0] != "spec.junk" {
		t.Errorf("unknown fields: %v", paths)
	}
	res.Strategy.Default(obj)
	if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "junk"); found {
		t.Errorf("spec.junk not pruned")
	}
	if m, _, _ := unstructured.NestedString(obj.Object, "spec", "mode"); m != "fast" {
		t.Errorf("spec.mode = %q, want the default", m)
	}
	res.Strategy.PrepareForCreate(obj)
	if _, found := obj.Object["status"]; found {
		t.Errorf("create kept status with a status subresource")
	}
	if errs := res.Strategy.Validate(obj); len(errs) != 0 {
		t.Errorf("valid object: %v", errs)
	}
	bad := obj.DeepCopy()
	bad.Object["spec"].(map[string]any)["mode"] = "other"
	if errs := res.Strategy.Validate(bad); len(errs) != 1 || errs[0].Field != "spec.mode" {
		t.Errorf("enum violation: %v", errs)
	}
	if err := res.Scale.SetReplicas(obj, 4); err != nil {
		t.Fatal(err)
	}
	n, sn, sel, err := res.Scale.Of(obj)
	if err != nil || n != 4 || sn != 0 || sel != "" {
		t.Errorf("scale: %d %d %q %v", n, sn, sel, err)
	}
	tab, err := res.Table([]runtime.Object{obj}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.ColumnDefinitions) != 2 || tab.ColumnDefinitions[1].Name != "Age" || len(tab.Rows) != 1 || tab.Rows[0].Cells[0] != "a" {
		t.Errorf("table: %+v", tab)
	}
}
