package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/kube-openapi/pkg/handler"
)

// TestSwaggerIsValidV2: the v2 form parses as an OpenAPI v2 document (gnostic, as the
// protobuf /openapi/v2 is made), every reference points at a definition, and each kind keeps
// its x-kubernetes-group-version-kind.
func TestSwaggerIsValidV2(t *testing.T) {
	s, err := mustNew(t).Swagger()
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handler.ToProtoBinary(body); err != nil {
		t.Fatalf("not a valid OpenAPI v2 document: %v", err)
	}
	for _, r := range refsIn(body) {
		name, ok := strings.CutPrefix(r, definitionRefPrefix)
		if !ok {
			t.Fatalf("reference %q is not to #/definitions/", r)
		}
		if _, ok := s.Definitions[name]; !ok {
			t.Errorf("reference %q has no definition", r)
		}
	}
	pod, ok := s.Definitions["io.k8s.api.core.v1.Pod"]
	if !ok {
		t.Fatal("no definition io.k8s.api.core.v1.Pod")
	}
	var gvks []map[string]string
	if err := pod.Extensions.GetObject("x-kubernetes-group-version-kind", &gvks); err != nil || len(gvks) != 1 || gvks[0]["kind"] != "Pod" || gvks[0]["version"] != "v1" {
		t.Fatalf("Pod's x-kubernetes-group-version-kind: %v %v", gvks, err)
	}
	if q := s.Definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]; len(q.OneOf) != 0 || !q.Type.Contains("string") || q.Format != "int-or-string" {
		t.Fatalf("IntOrString in v2: %+v", q.SchemaProps)
	}
}
