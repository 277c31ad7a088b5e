package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

func testResources() []Resource {
	core := corev1.SchemeGroupVersion
	apps := appsv1.SchemeGroupVersion
	return []Resource{
		{GroupVersionKind: core.WithKind("Pod"), Plural: "pods", Namespaced: true, Subresources: []string{"status", "binding", "log", "exec", "eviction"}, Object: &corev1.Pod{}, ListObject: &corev1.PodList{}},
		{GroupVersionKind: core.WithKind("Node"), Plural: "nodes", Subresources: []string{"status"}, Object: &corev1.Node{}, ListObject: &corev1.NodeList{}},
		{GroupVersionKind: core.WithKind("Namespace"), Plural: "namespaces", Subresources: []string{"status"}, Object: &corev1.Namespace{}, ListObject: &corev1.NamespaceList{}},
		{GroupVersionKind: core.WithKind("Service"), Plural: "services", Namespaced: true, Subresources: []string{"status"}, Object: &corev1.Service{}, ListObject: &corev1.ServiceList{}},
		{GroupVersionKind: core.WithKind("Endpoints"), Plural: "endpoints", Namespaced: true, Object: &corev1.Endpoints{}, ListObject: &corev1.EndpointsList{}},
		{GroupVersionKind: core.WithKind("ConfigMap"), Plural: "configmaps", Namespaced: true, Object: &corev1.ConfigMap{}, ListObject: &corev1.ConfigMapList{}},
		{GroupVersionKind: core.WithKind("Secret"), Plural: "secrets", Namespaced: true, Object: &corev1.Secret{}, ListObject: &corev1.SecretList{}},
		{GroupVersionKind: core.WithKind("ServiceAccount"), Plural: "serviceaccounts", Namespaced: true, Object: &corev1.ServiceAccount{}, ListObject: &corev1.ServiceAccountList{}},
		{GroupVersionKind: core.WithKind("Event"), Plural: "events", Namespaced: true, Object: &corev1.Event{}, ListObject: &corev1.EventList{}},
		{GroupVersionKind: apps.WithKind("Deployment"), Plural: "deployments", Namespaced: true, Subresources: []string{"status", "scale"}, Object: &appsv1.Deployment{}, ListObject: &appsv1.DeploymentList{}},
		{GroupVersionKind: apps.WithKind("ReplicaSet"), Plural: "replicasets", Namespaced: true, Subresources: []string{"status", "scale"}, Object: &appsv1.ReplicaSet{}, ListObject: &appsv1.ReplicaSetList{}},
		{GroupVersionKind: apps.WithKind("StatefulSet"), Plural: "statefulsets", Namespaced: true, Subresources: []string{"status", "scale"}, Object: &appsv1.StatefulSet{}, ListObject: &appsv1.StatefulSetList{}},
		{GroupVersionKind: apps.WithKind("DaemonSet"), Plural: "daemonsets", Namespaced: true, Subresources: []string{"status"}, Object: &appsv1.DaemonSet{}, ListObject: &appsv1.DaemonSetList{}},
		{GroupVersionKind: batchv1.SchemeGroupVersion.WithKind("Job"), Plural: "jobs", Namespaced: true, Subresources: []string{"status"}, Object: &batchv1.Job{}, ListObject: &batchv1.JobList{}},
		{GroupVersionKind: batchv1.SchemeGroupVersion.WithKind("CronJob"), Plural: "cronjobs", Namespaced: true, Object: &batchv1.CronJob{}, ListObject: &batchv1.CronJobList{}},
		{GroupVersionKind: coordinationv1.SchemeGroupVersion.WithKind("Lease"), Plural: "leases", Namespaced: true, Object: &coordinationv1.Lease{}, ListObject: &coordinationv1.LeaseList{}},
		{GroupVersionKind: discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"), Plural: "endpointslices", Namespaced: true, Object: &discoveryv1.EndpointSlice{}, ListObject: &discoveryv1.EndpointSliceList{}},
		{GroupVersionKind: eventsv1.SchemeGroupVersion.WithKind("Event"), Plural: "events", Namespaced: true, Object: &eventsv1.Event{}, ListObject: &eventsv1.EventList{}},
	}
}

func mustNew(t *testing.T) *Documents {
	t.Helper()
	d, err := New(testResources())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// parsed decodes a group-version document with kube-openapi's spec3 types,
// the ones client-go and kubectl use.
func parsed(t *testing.T, d *Documents, path string) *spec3.OpenAPI {
	t.Helper()
	body, _, ok := d.GroupVersion(path)
	if !ok {
		t.Fatalf("no document for %s", path)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return &doc
}

// gvkOf reads an operation's single x-kubernetes-group-version-kind the way
// kubectl's query-param verifier does.
func gvkOf(ext spec.Extensions) (schema.GroupVersionKind, bool) {
	var m map[string]string
	if err := ext.GetObject("x-kubernetes-group-version-kind", &m); err != nil || m == nil {
		return schema.GroupVersionKind{}, false
	}
	return schema.GroupVersionKind{Group: m["group"], Version: m["version"], Kind: m["kind"]}, true
}

// supportsFieldValidation mirrors kubectl: some PATCH operation carries the
// GVK and declares the fieldValidation query parameter.
func supportsFieldValidation(doc *spec3.OpenAPI, gvk schema.GroupVersionKind) bool {
	for _, p := range doc.Paths.Paths {
		op := p.Patch
		if op == nil {
			continue
		}
		if got, ok := gvkOf(op.Extensions); !ok || got != gvk {
			continue
		}
		for _, param := range op.Parameters {
			if param.Name == "fieldValidation" {
				return true
			}
		}
	}
	return false
}

// schemaForGVK finds a component schema by its x-kubernetes-group-version-kind
// list, as kubectl apply and explain do.
func schemaForGVK(doc *spec3.OpenAPI, gvk schema.GroupVersionKind) (string, *spec.Schema) {
	for name, s := range doc.Components.Schemas {
		var list []map[string]string
		if err := s.Extensions.GetObject("x-kubernetes-group-version-kind", &list); err != nil {
			continue
		}
		for _, m := range list {
			if m["group"] == gvk.Group && m["version"] == gvk.Version && m["kind"] == gvk.Kind {
				return name, s
			}
		}
	}
	return "", nil
}

func TestIndex(t *testing.T) {
	d := mustNew(t)
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(d.Index(), &index); err != nil {
		t.Fatal(err)
	}
	want := []string{"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1", "apis/events.k8s.io/v1"}
	if len(index.Paths) != len(want) {
		t.Errorf("index paths = %v, want %v", index.Paths, want)
	}
	for _, p := range want {
		entry, ok := index.Paths[p]
		if !ok {
			t.Errorf("index lacks %s", p)
			continue
		}
		_, hash, _ := d.GroupVersion(p)
		if entry.ServerRelativeURL != "/openapi/v3/"+p+"?hash="+hash {
			t.Errorf("%s URL = %q, hash %s", p, entry.ServerRelativeURL, hash)
		}
	}
	if !reflect.DeepEqual(d.Paths(), want) {
		t.Errorf("Paths() = %v", d.Paths())
	}
}

func TestEveryResourceHasPatchWithFieldValidation(t *testing.T) {
	d := mustNew(t)
	for _, r := range testResources() {
		gvk := r.GroupVersionKind
		t.Run(gvk.String(), func(t *testing.T) {
			doc := parsed(t, d, gvPath(gvk.GroupVersion()))
			if !supportsFieldValidation(doc, gvk) {
				t.Errorf("no PATCH operation for %s declaring fieldValidation", gvk)
			}
			// kubectl apply computes a strategic merge patch only when the
			// PATCH operation of the kind accepts that content type.
			for path, p := range doc.Paths.Paths {
				if p.Patch == nil {
					continue
				}
				if got, _ := gvkOf(p.Patch.Extensions); got != gvk {
					continue
				}
				if p.Patch.RequestBody == nil || p.Patch.RequestBody.Content["application/strategic-merge-patch+json"] == nil {
					t.Errorf("%s PATCH lacks application/strategic-merge-patch+json", path)
				}
			}
			name, s := schemaForGVK(doc, gvk)
			if s == nil {
				t.Fatalf("no schema carries %s", gvk)
			}
			if _, ok := s.Properties["metadata"]; !ok {
				t.Errorf("%s has no metadata property", name)
			}
			if listName, _ := schemaForGVK(doc, gvk.GroupVersion().WithKind(gvk.Kind+"List")); listName == "" {
				t.Errorf("no list schema for %s", gvk)
			}
		})
	}
	doc := parsed(t, d, "apis/apps/v1")
	if !supportsFieldValidation(doc, schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}) {
		t.Errorf("scale subresource PATCH lacks fieldValidation")
	}
}

func resolveRef(t *testing.T, doc *spec3.OpenAPI, s *spec.Schema) (string, *spec.Schema) {
	t.Helper()
	if len(s.AllOf) > 0 {
		s = &s.AllOf[0]
	}
	r := s.Ref.String()
	if r == "" {
		return "", s
	}
	name := strings.TrimPrefix(r, "#/components/schemas/")
	target, ok := doc.Components.Schemas[name]
	if !ok {
		t.Fatalf("dangling $ref %s", r)
	}
	return name, target
}

func TestPodSchema(t *testing.T) {
	doc := parsed(t, mustNew(t), "api/v1")
	name, pod := schemaForGVK(doc, corev1.SchemeGroupVersion.WithKind("Pod"))
	if name != "io.k8s.api.core.v1.Pod" {
		t.Fatalf("pod model %q", name)
	}
	metaName, _ := resolveRef(t, doc, ptrTo(pod.Properties["metadata"]))
	if metaName != "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
		t.Errorf("metadata refers to %q", metaName)
	}
	for _, p := range []string{"apiVersion", "kind", "metadata", "spec", "status"} {
		if _, ok := pod.Properties[p]; !ok {
			t.Errorf("Pod lacks %s (embedded TypeMeta inlined?)", p)
		}
	}
	specName, podSpec := resolveRef(t, doc, ptrTo(pod.Properties["spec"]))
	if specName != "io.k8s.api.core.v1.PodSpec" {
		t.Fatalf("spec refers to %q", specName)
	}
	containers := podSpec.Properties["containers"]
	if !containers.Type.Contains("array") {
		t.Errorf("containers type %v", containers.Type)
	}
	if mk, _ := containers.Extensions.GetString("x-kubernetes-patch-merge-key"); mk != "name" {
		t.Errorf("containers merge key %q", mk)
	}
	if ps, _ := containers.Extensions.GetString("x-kubernetes-patch-strategy"); ps != "merge" {
		t.Errorf("containers patch strategy %q", ps)
	}
	if !reflect.DeepEqual(podSpec.Required, []string{"containers"}) {
		t.Errorf("PodSpec required %v", podSpec.Required)
	}
	cName, container := resolveRef(t, doc, containers.Items.Schema)
	if cName != "io.k8s.api.core.v1.Container" || !reflect.DeepEqual(container.Required, []string{"name"}) {
		t.Errorf("container item %q required %v", cName, container.Required)
	}
	if container.Description == "" || container.Properties["image"].Description == "" {
		t.Errorf("container lacks descriptions for explain")
	}

	tests := []struct {
		name, model, prop string
		check             func(*spec.Schema) bool
	}{
		{"labels map", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels", func(s *spec.Schema) bool {
			return s.Type.Contains("object") && s.AdditionalProperties != nil && s.AdditionalProperties.Schema.Type.Contains("string")
		}},
		{"secret data bytes", "io.k8s.api.core.v1.Secret", "data", func(s *spec.Schema) bool {
			return s.AdditionalProperties.Schema.Type.Contains("string") && s.AdditionalProperties.Schema.Format == "byte"
		}},
		{"int32 format", "io.k8s.api.core.v1.ContainerPort", "containerPort", func(s *spec.Schema) bool {
			return s.Type.Contains("integer") && s.Format == "int32"
		}},
		{"env merge key", "io.k8s.api.core.v1.Container", "env", func(s *spec.Schema) bool {
			mk, _ := s.Extensions.GetString("x-kubernetes-patch-merge-key")
			return mk == "name"
		}},
		{"finalizers strategy", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", func(s *spec.Schema) bool {
			ps, _ := s.Extensions.GetString("x-kubernetes-patch-strategy")
			return ps == "merge"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := doc.Components.Schemas[tc.model]
			if !ok {
				t.Fatalf("no model %s", tc.model)
			}
			p, ok := m.Properties[tc.prop]
			if !ok || !tc.check(&p) {
				t.Errorf("%s.%s = %+v", tc.model, tc.prop, p)
			}
		})
	}

	specials := []struct {
		model string
		check func(*spec.Schema) bool
	}{
		{"io.k8s.apimachinery.pkg.apis.meta.v1.Time", func(s *spec.Schema) bool { return s.Type.Contains("string") && s.Format == "date-time" }},
		{"io.k8s.apimachinery.pkg.api.resource.Quantity", func(s *spec.Schema) bool { return len(s.OneOf) == 2 }},
		{"io.k8s.apimachinery.pkg.util.intstr.IntOrString", func(s *spec.Schema) bool { return s.Format == "int-or-string" && len(s.OneOf) == 2 }},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1", func(s *spec.Schema) bool { return s.Type.Contains("object") }},
	}
	for _, sp := range specials {
		s, ok := doc.Components.Schemas[sp.model]
		if !ok || !sp.check(s) {
			t.Errorf("special model %s = %+v", sp.model, s)
		}
	}

	// Every $ref in the document resolves inside it.
	d := mustNew(t)
	body, _, _ := d.GroupVersion("apis/apps/v1")
	appsDoc := parsed(t, d, "apis/apps/v1")
	for _, r := range refsIn(body) {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		if _, ok := appsDoc.Components.Schemas[name]; !ok {
			t.Errorf("apps/v1 refers to missing %s", r)
		}
	}
}

func ptrTo(s spec.Schema) *spec.Schema { return &s }

func refsIn(body []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(string(body), `"$ref":"`)[1:] {
		r := part[:strings.IndexByte(part, '"')]
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// TestStrategicMergePatchFromDocuments computes the three-way patch kubectl
// apply would send, from the published schema, and compares it with the one
// computed from the Go struct tags.
func TestStrategicMergePatchFromDocuments(t *testing.T) {
	doc := parsed(t, mustNew(t), "apis/apps/v1")
	_, dep := schemaForGVK(doc, appsv1.SchemeGroupVersion.WithKind("Deployment"))
	fromDoc := strategicpatch.PatchMetaFromOpenAPIV3{Schema: dep, SchemaList: doc.Components.Schemas}
	fromStruct, err := strategicpatch.NewPatchMetaFromStruct(&appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	original := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"a":"1"}},
		"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
		"spec":{"containers":[{"name":"app","image":"nginx:1","ports":[{"containerPort":80}],"env":[{"name":"A","value":"1"}]},{"name":"log","image":"busybox"}]}}}}`)
	modified := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"b":"2"}},
		"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
		"spec":{"containers":[{"name":"app","image":"nginx:2","ports":[{"containerPort":80},{"containerPort":443}],"env":[{"name":"B","value":"2"}]},{"name":"metrics","image":"exporter"}]}}}}`)
	current := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"a":"1"},"resourceVersion":"7"},
		"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
		"spec":{"containers":[{"name":"app","image":"nginx:1","ports":[{"containerPort":80,"protocol":"TCP"}],"env":[{"name":"A","value":"1"}]},{"name":"log","image":"busybox"},{"name":"injected","image":"proxy"}],
		"tolerations":[{"key":"k","operator":"Exists"}]}}},"status":{"replicas":2}}`)

	got, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, fromDoc, false)
	if err != nil {
		t.Fatalf("patch from document schema: %v", err)
	}
	want, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, fromStruct, false)
	if err != nil {
		t.Fatal(err)
	}
	var gotMap, wantMap map[string]interface{}
	_ = json.Unmarshal(got, &gotMap)
	_ = json.Unmarshal(want, &wantMap)
	if !reflect.DeepEqual(gotMap, wantMap) {
		t.Errorf("patch from document\n%s\ndiffers from struct patch\n%s", got, want)
	}
	if !strings.Contains(string(got), `"$setElementOrder/containers"`) {
		t.Errorf("patch %s does not merge containers by name", got)
	}
	// Applying it keeps the server-injected container, as kubectl users expect.
	merged, err := strategicpatch.StrategicMergePatchUsingLookupPatchMeta(current, got, fromDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"injected"`, `"metrics"`, `"nginx:2"`} {
		if !strings.Contains(string(merged), s) {
			t.Errorf("merged object lacks %s: %s", s, merged)
		}
	}
	if strings.Contains(string(merged), `"log"`) {
		t.Errorf("merged object still has removed container: %s", merged)
	}
}

// TestClientGoReadsDocuments serves the documents over HTTP and reads them
// with client-go's openapi3 root, the path kubectl takes.
func TestClientGoReadsDocuments(t *testing.T) {
	d := mustNew(t)
	mux := http.NewServeMux()
	mux.Handle("/openapi/v3", d.Handler())
	mux.Handle("/openapi/v3/", d.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	root := openapi3.NewRoot(dc.OpenAPIV3())
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatalf("GroupVersions: %v", err)
	}
	if len(gvs) != len(d.Paths()) {
		t.Errorf("client-go sees %v", gvs)
	}
	for _, r := range testResources() {
		gvk := r.GroupVersionKind
		doc, err := root.GVSpec(gvk.GroupVersion())
		if err != nil {
			t.Fatalf("GVSpec(%s): %v", gvk.GroupVersion(), err)
		}
		if !supportsFieldValidation(doc, gvk) {
			t.Errorf("%s: fieldValidation not found through client-go", gvk)
		}
	}
}

func TestHandler(t *testing.T) {
	d := mustNew(t)
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	_, hash, _ := d.GroupVersion("api/v1")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		name        string
		method      string
		path        string
		ifNoneMatch string
		wantStatus  int
		wantHeader  map[string]string
	}{
		{name: "index", path: "/openapi/v3", wantStatus: 200, wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "document with current hash", path: "/openapi/v3/api/v1?hash=" + hash, wantStatus: 200,
			wantHeader: map[string]string{"ETag": `"` + hash + `"`, "Content-Type": "application/json", "Cache-Control": "public, immutable, max-age=31536000"}},
		{name: "document without hash", path: "/openapi/v3/apis/apps/v1", wantStatus: 200, wantHeader: map[string]string{"Cache-Control": "no-cache, private"}},
		{name: "stale hash redirects", path: "/openapi/v3/api/v1?hash=OLD", wantStatus: 301, wantHeader: map[string]string{"Location": "/openapi/v3/api/v1?hash=" + hash}},
		{name: "etag match", path: "/openapi/v3/api/v1", ifNoneMatch: `"` + hash + `"`, wantStatus: 304},
		{name: "unknown group-version", path: "/openapi/v3/apis/nope/v1", wantStatus: 404},
		{name: "post refused", method: http.MethodPost, path: "/openapi/v3", wantStatus: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, srv.URL+tc.path, nil)
			if tc.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tc.ifNoneMatch)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestNewRejectsBadResources(t *testing.T) {
	tests := []struct {
		name      string
		resources []Resource
	}{
		{"missing plural", []Resource{{GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Pod"), Object: &corev1.Pod{}}}},
		{"missing object", []Resource{{GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Pod"), Plural: "pods"}}},
		{"duplicate", []Resource{
			{GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Pod"), Plural: "pods", Object: &corev1.Pod{}},
			{GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Pod"), Plural: "pods", Object: &corev1.Pod{}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.resources); err == nil {
				t.Error("New accepted an invalid resource list")
			}
		})
	}
}

func TestDocumentsAreDeterministic(t *testing.T) {
	a, b := mustNew(t), mustNew(t)
	if string(a.Index()) != string(b.Index()) {
		t.Error("index differs between two builds of the same resources")
	}
}
