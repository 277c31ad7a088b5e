package apiserver_test

import (
	"strings"
	"testing"
)

const widgetCRDYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.example.clusterkit.io
spec:
  group: example.clusterkit.io
  scope: Namespaced
  names:
    plural: gizmos
    singular: gizmo
    kind: Gizmo
    shortNames: [gz]
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string, default: blue}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string, default: blue}
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
`

const gizmoYAML = `apiVersion: example.clusterkit.io/v1
kind: Gizmo
metadata:
  name: g1
spec:
  size: 3
`

func TestKubectlCustomResources(t *testing.T) {
	ts := newTestServer(t)
	k := newKubectl(t, ts)

	k.mustRun(widgetCRDYAML, "apply", "-f", "-")
	k.waitEstablished("gizmos.example.clusterkit.io")
	out := k.mustRun("", "get", "crds")
	if !strings.Contains(out, "CREATED AT") || !strings.Contains(out, "gizmos.example.clusterkit.io") {
		t.Fatalf("kubectl get crds: %q", out)
	}
	out = k.mustRun("", "get", "crd", "-o", "wide")
	if !strings.Contains(out, "ESTABLISHED") || !strings.Contains(out, "true") || !strings.Contains(out, "v1(storage)") {
		t.Fatalf("kubectl get crd -o wide: %q", out)
	}
	out = k.mustRun("", "api-resources", "--api-group=example.clusterkit.io")
	if !strings.Contains(out, "gizmos") || !strings.Contains(out, "Gizmo") || !strings.Contains(out, "gz") {
		t.Fatalf("kubectl api-resources: %q", out)
	}
	out = k.mustRun(gizmoYAML, "apply", "-f", "-")
	if !strings.Contains(out, "gizmo.example.clusterkit.io/g1 created") {
		t.Fatalf("apply output: %q", out)
	}
	out = k.mustRun(strings.Replace(gizmoYAML, "size: 3", "size: 4", 1), "apply", "-f", "-")
	if !strings.Contains(out, "configured") {
		t.Fatalf("re-apply output: %q", out)
	}
	out = k.mustRun("", "get", "gizmos")
	if !strings.Contains(out, "SIZE") || !strings.Contains(out, "COLOR") || !strings.Contains(out, "g1") || !strings.Contains(out, "4") || !strings.Contains(out, "blue") {
		t.Fatalf("kubectl get gizmos: %q", out)
	}
	out = k.mustRun("", "get", "gz", "g1", "-o", "jsonpath={.spec.size}")
	if out != "4" {
		t.Fatalf("short name get: %q", out)
	}
	// The v1beta1 version serves the same object (conversion strategy None).
	out = k.mustRun("", "get", "gizmos.v1beta1.example.clusterkit.io", "g1", "-o", "jsonpath={.apiVersion}")
	if out != "example.clusterkit.io/v1beta1" {
		t.Fatalf("v1beta1 apiVersion: %q", out)
	}
	// Gizmos have no scale subresource.
	if out, err := k.run("", "scale", "--replicas=2", "gizmo/g1"); err == nil {
		t.Fatalf("scaled a custom resource without a scale subresource: %q", out)
	}
	k.mustRun("", "delete", "crd", "gizmos.example.clusterkit.io", "--wait", "--timeout", "20s")
	if out, err := k.run("", "get", "gizmos.example.clusterkit.io"); err == nil {
		t.Fatalf("gizmos still served after the CRD was deleted: %q", out)
	}
}

const describedCRDYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sprockets.example.clusterkit.io
spec:
  group: example.clusterkit.io
  scope: Namespaced
  names: {plural: sprockets, singular: sprocket, kind: Sprocket}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        description: Sprocket is a toothed wheel.
        type: object
        properties:
          spec:
            description: Specification of the sprocket.
            type: object
            required: [teeth]
            properties:
              teeth: {type: integer, description: Number of teeth.}
`

// TestOpenAPIPublishesCustomResources: the schema of a CRD's served version is published in
// /openapi/v2 (JSON and protobuf) and /openapi/v3, kubectl explain reads it, and it is gone
// once the CRD is.
func TestOpenAPIPublishesCustomResources(t *testing.T) {
	ts := newTestServer(t)
	k := newKubectl(t, ts)
	const definition = "io.clusterkit.example.v1.Sprocket"

	k.mustRun(describedCRDYAML, "apply", "-f", "-")
	k.waitEstablished("sprockets.example.clusterkit.io")
	out := k.mustRun("", "get", "--raw", "/openapi/v2")
	if !strings.Contains(out, `"`+definition+`"`) || !strings.Contains(out, "Number of teeth.") || !strings.Contains(out, `"io.k8s.api.core.v1.Pod"`) {
		t.Fatalf("/openapi/v2 lacks the definition %s or the built-in ones", definition)
	}
	doc, err := ts.client.Discovery().OpenAPISchema() // protobuf
	if err != nil {
		t.Fatalf("OpenAPISchema (protobuf): %v", err)
	}
	found := false
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		found = found || d.GetName() == definition
	}
	if !found {
		t.Fatalf("the protobuf /openapi/v2 lacks %s", definition)
	}
	out = k.mustRun("", "get", "--raw", "/openapi/v3")
	if !strings.Contains(out, `"apis/example.clusterkit.io/v1"`) || !strings.Contains(out, `"api/v1"`) {
		t.Fatalf("/openapi/v3 index: %s", out)
	}
	out = k.mustRun("", "explain", "sprockets.spec")
	if !strings.Contains(out, "Specification of the sprocket.") || !strings.Contains(out, "teeth") || !strings.Contains(out, "Number of teeth.") {
		t.Fatalf("kubectl explain sprockets.spec:\n%s", out)
	}
	if out, err := k.run("", "explain", "sprockets.spec.gears"); err == nil || !strings.Contains(out, `field "gears" does not exist`) {
		t.Fatalf("kubectl explain of a missing field: %v\n%s", err, out)
	}

	k.mustRun("", "delete", "crd", "sprockets.example.clusterkit.io", "--wait", "--timeout", "20s")
	eventually(t, "the CRD's schema to leave /openapi/v2 and /openapi/v3", func() bool {
		out := k.mustRun("", "get", "--raw", "/openapi/v2")
		idx := k.mustRun("", "get", "--raw", "/openapi/v3")
		return !strings.Contains(out, `"`+definition+`"`) && !strings.Contains(idx, "example.clusterkit.io")
	})
}
