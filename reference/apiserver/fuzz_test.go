package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// The fuzz targets drive the server's handler directly (no sockets) so that each input costs
// microseconds. The handler converts panics into 500s, so "no 5xx" also means "no panic".
// Run one for a minute with:
//
//	go test -run '^$' -fuzz FuzzCreateBody -fuzztime 60s ./reference/apiserver

// fuzzServer is an API server over a memory store, called in-process.
type fuzzServer struct {
	srv   *apiserver.Server
	store *memory.Store
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if err := srv.Bootstrap(context.Background()); err != nil {
		tb.Fatalf("Bootstrap: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close(); _ = store.Close() })
	return &fuzzServer{srv: srv, store: store}
}

func (fs *fuzzServer) do(method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	fs.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func (fs *fuzzServer) resource(tb testing.TB, gvr schema.GroupVersionResource) *registry.Resource {
	tb.Helper()
	res := fs.srv.Registry().Lookup(gvr)
	if res == nil {
		tb.Fatalf("resource %v not served", gvr)
	}
	return res
}

func (fs *fuzzServer) revision(tb testing.TB) int64 {
	tb.Helper()
	rev, err := fs.store.CurrentRevision(context.Background())
	if err != nil {
		tb.Fatalf("CurrentRevision: %v", err)
	}
	return rev
}

// fuzzKind is one kind FuzzCreateBody posts.
type fuzzKind struct {
	gvr  schema.GroupVersionResource
	path string
	seed runtime.Object
}

func fuzzKinds() []fuzzKind {
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	return []fuzzKind{
		{
			gvr:  corev1.SchemeGroupVersion.WithResource("pods"),
			path: "/api/v1/namespaces/default/pods",
			seed: &corev1.Pod{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "seed-pod", Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
		{
			gvr:  appsv1.SchemeGroupVersion.WithResource("deployments"),
			path: "/apis/apps/v1/namespaces/default/deployments",
			seed: &appsv1.Deployment{
				TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				ObjectMeta: metav1.ObjectMeta{Name: "seed-deploy"},
				Spec: appsv1.DeploymentSpec{
					Replicas: &replicas,
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
					},
				},
			},
		},
		{
			gvr:  corev1.SchemeGroupVersion.WithResource("configmaps"),
			path: "/api/v1/namespaces/default/configmaps",
			seed: &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "seed-cm"},
				Data:       map[string]string{"k": "v"},
			},
		},
	}
}

func mustMarshalJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustProtobuf(tb testing.TB, obj runtime.Object) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(obj, &buf); err != nil {
		tb.Fatalf("protobuf encode: %v", err)
	}
	return buf.Bytes()
}

// FuzzCreateBody POSTs arbitrary bytes as a Pod, Deployment or ConfigMap with each content type,
// with and without fieldValidation=Strict: never a 5xx; a 2xx stored an object that passes
// validation.ValidateCreate; a 4xx stored nothing.
func FuzzCreateBody(f *testing.F) {
	kinds := fuzzKinds()
	for i, k := range kinds {
		js := mustMarshalJSON(f, k.seed)
		f.Add(uint8(i), uint8(0), false, js)
		f.Add(uint8(i), uint8(0), true, js)
		f.Add(uint8(i), uint8(1), false, mustProtobuf(f, k.seed))
		f.Add(uint8(i), uint8(2), true, []byte("metadata:\n  generateName: x-\n"))
	}
	f.Add(uint8(0), uint8(0), true, []byte(`{"metadata":{"name":"p","unknown":1},"spec":{"containers":[{"name":"c","image":"i"}]}}`))
	f.Add(uint8(0), uint8(0), false, []byte(`{"metadata":{"name":"p","name":"q"},"spec":{"containers":[{"name":"c","image":"i"}]}}`))
	f.Add(uint8(0), uint8(0), false, []byte(`{"kind":"Service","apiVersion":"v1","metadata":{"name":"s"}}`))
	f.Add(uint8(0), uint8(0), false, []byte(`{"metadata":{"name":"p","namespace":"other"}}`))
	f.Add(uint8(1), uint8(0), false, []byte(`{"metadata":{"name":"d"},"spec":{"replicas":-1,"selector":{"matchLabels":{"a":"b"}}}}`))
	f.Add(uint8(1), uint8(0), false, []byte(`{"metadata":{"name":"d"},"spec":{"selector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]}}}`))
	f.Add(uint8(0), uint8(0), false, []byte(`{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1e400"}}}]}}`))
	f.Add(uint8(2), uint8(0), false, []byte(`{"metadata":{"name":"Not_Valid"},"data":{"a/b":"x"}}`))
	f.Add(uint8(2), uint8(1), false, []byte("k8s\x00\x0a\x02v1\x12\x09ConfigMap\x12\x00"))
	f.Add(uint8(0), uint8(0), false, []byte(`null`))
	f.Add(uint8(0), uint8(0), false, []byte(`[]`))

	// Content types, chosen by the fuzzer's ct byte.
	contentTypes := [...]string{"application/json", "application/vnd.kubernetes.protobuf", "application/yaml", ""}
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, kind, ct uint8, strict bool, body []byte) {
		k := kinds[int(kind)%len(kinds)]
		res := fs.resource(t, k.gvr)
		target := k.path
		if strict {
			target += "?fieldValidation=Strict"
		}
		before := fs.revision(t)
		rec := fs.do(http.MethodPost, target, contentTypes[int(ct)%len(contentTypes)], body)
		after := fs.revision(t)
		switch {
		case rec.Code >= 500:
			t.Fatalf("POST %s answered %d: %s", target, rec.Code, rec.Body.String())
		case rec.Code >= 400:
			if after != before {
				t.Fatalf("POST %s answered %d but the store moved from revision %d to %d", target, rec.Code, before, after)
			}
			return
		case rec.Code != http.StatusCreated:
			t.Fatalf("POST %s answered %d, want 201 or 4xx: %s", target, rec.Code, rec.Body.String())
		}
		var created metav1.PartialObjectMetadata
		if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
			t.Fatalf("201 body is not an object: %v", err)
		}
		key := storage.Key(res, created.Namespace, created.Name)
		kv, err := fs.store.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("201 for %s but the store has no %s: %v", created.Name, key, err)
		}
		stored, err := storage.Decode(res, kv.Value, kv.ModRevision)
		if err != nil {
			t.Fatalf("stored %s does not decode: %v", key, err)
		}
		if errs := validation.ValidateCreate(stored); len(errs) > 0 {
			t.Fatalf("stored %s is invalid: %v\nbody: %q", key, errs.ToAggregate(), body)
		}
		if m, _ := meta.Accessor(stored); m.GetUID() == "" || m.GetCreationTimestamp().Time.IsZero() {
			t.Fatalf("stored %s lacks uid or creationTimestamp", key)
		}
		// Keep the store small and the next input independent of this one.
		if _, err := fs.store.Delete(context.Background(), key, 0); err != nil {
			t.Fatalf("cleanup: %v", err)
		}
	})
}

// FuzzPatch applies arbitrary strategic merge, merge and JSON patches to a stored Deployment
// (reset before every input): never a 5xx; the stored object always passes validation; name and
// uid never change; a rejected patch changes nothing (same resourceVersion, same bytes).
func FuzzPatch(f *testing.F) {
	seeds := []struct {
		pt   uint8
		body string
	}{
		{0, `{"spec":{"replicas":5}}`},
		{0, `{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:2"}]}}}}`},
		{0, `{"spec":{"template":{"spec":{"containers":[{"name":"d","image":"x"},{"$patch":"delete","name":"c"}]}}}}`},
		{0, `{"metadata":{"labels":{"x":"y"},"uid":"other"}}`},
		{0, `{"metadata":{"name":"renamed"}}`},
		{0, `{"spec":{"selector":{"matchLabels":{"app":"other"}}}}`},
		{0, `{"metadata":{"resourceVersion":"1"}}`},
		{0, `{"$setElementOrder/containers":[{"name":"c"}]}`},
		{1, `{"spec":{"replicas":-3}}`},
		{1, `{"spec":{"template":null}}`},
		{1, `{"metadata":{"annotations":{"a":"b"}}}`},
		{1, `{"status":{"replicas":99}}`},
		{1, `[]`},
		{2, `[{"op":"replace","path":"/spec/replicas","value":7}]`},
		{2, `[{"op":"remove","path":"/spec/template/spec/containers/0"}]`},
		{2, `[{"op":"add","path":"/metadata/labels/new","value":"v"}]`},
		{2, `[{"op":"test","path":"/spec/replicas","value":100}]`},
		{2, `[{"op":"move","from":"/spec","path":"/spec/template"}]`},
		{2, `[{"op":"replace","path":"/kind","value":"Pod"}]`},
		{2, `{"op":"replace"}`},
		// Found by this fuzzer: json-patch v4.13 panicked on a value-less test of the root path.
		{2, `[{"op":"test","path":""}]`},
		{2, `[{"op":"test","path":"/spec"}]`},
	}
	for _, s := range seeds {
		f.Add(s.pt, []byte(s.body))
	}

	fs := newFuzzServer(f)
	dep := fuzzKinds()[1]
	res := fs.resource(f, dep.gvr)
	if rec := fs.do(http.MethodPost, dep.path, "application/json", mustMarshalJSON(f, dep.seed)); rec.Code != http.StatusCreated {
		f.Fatalf("creating the Deployment: %d %s", rec.Code, rec.Body.String())
	}
	key := storage.Key(res, "default", "seed-deploy")
	base, err := fs.store.Get(context.Background(), key)
	if err != nil {
		f.Fatal(err)
	}
	baseObj, err := storage.Decode(res, base.Value, base.ModRevision)
	if err != nil {
		f.Fatal(err)
	}
	baseMeta, _ := meta.Accessor(baseObj)
	target := dep.path + "/seed-deploy"
	// Patch types, chosen by the fuzzer's pt byte.
	patchTypes := [...]types.PatchType{types.StrategicMergePatchType, types.MergePatchType, types.JSONPatchType}

	f.Fuzz(func(t *testing.T, pt uint8, body []byte) {
		ctx := context.Background()
		cur, err := fs.store.Get(ctx, key)
		if err != nil {
			t.Fatalf("the Deployment is gone: %v", err)
		}
		if !bytes.Equal(cur.Value, base.Value) {
			if _, err := fs.store.Update(ctx, key, base.Value, 0); err != nil {
				t.Fatalf("reset: %v", err)
			}
			if cur, err = fs.store.Get(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		patchType := patchTypes[int(pt)%len(patchTypes)]
		rec := fs.do(http.MethodPatch, target, string(patchType), body)
		after, err := fs.store.Get(ctx, key)
		if err != nil {
			t.Fatalf("PATCH %s (%d) removed the Deployment: %v", patchType, rec.Code, err)
		}
		switch {
		case rec.Code >= 500:
			t.Fatalf("PATCH %s answered %d: %s\nbody: %q", patchType, rec.Code, rec.Body.String(), body)
		case rec.Code >= 400:
			if after.ModRevision != cur.ModRevision || !bytes.Equal(after.Value, cur.Value) {
				t.Fatalf("PATCH %s answered %d but the stored object changed (revision %d -> %d)", patchType, rec.Code, cur.ModRevision, after.ModRevision)
			}
		case rec.Code != http.StatusOK:
			t.Fatalf("PATCH %s answered %d, want 200 or 4xx", patchType, rec.Code)
		}
		stored, err := storage.Decode(res, after.Value, after.ModRevision)
		if err != nil {
			t.Fatalf("stored Deployment does not decode: %v", err)
		}
		m, _ := meta.Accessor(stored)
		if m.GetName() != baseMeta.GetName() || m.GetUID() != baseMeta.GetUID() || m.GetNamespace() != baseMeta.GetNamespace() {
			t.Fatalf("PATCH %s (%d) changed identity: %s/%s uid %s", patchType, rec.Code, m.GetNamespace(), m.GetName(), m.GetUID())
		}
		if errs := validation.ValidateCreate(stored); len(errs) > 0 {
			t.Fatalf("PATCH %s (%d) stored an invalid Deployment: %v\nbody: %q", patchType, rec.Code, errs.ToAggregate(), body)
		}
		if rec.Code == http.StatusOK {
			if errs := validation.ValidateUpdate(stored, baseObj); len(errs) > 0 {
				t.Fatalf("PATCH %s stored an update that ValidateUpdate rejects: %v\nbody: %q", patchType, errs.ToAggregate(), body)
			}
		}
	})
}

// FuzzSelectors lists with arbitrary label and field selectors: 200 or 400, never anything else.
func FuzzSelectors(f *testing.F) {
	paths := []string{
		"/api/v1/pods",
		"/api/v1/namespaces/default/pods",
		"/apis/apps/v1/namespaces/default/deployments",
		"/api/v1/nodes",
		"/api/v1/events",
		"/api/v1/namespaces",
	}
	seeds := []struct{ label, field string }{
		{"app=web", ""},
		{"app in (a,b),!tier", "spec.nodeName=n1"},
		{"app notin (x)", "status.phase!=Running"},
		{"a=b,c!=d,e", "metadata.name=x,metadata.namespace=default"},
		{"", "spec.schedulerName=default-scheduler"},
		{"x>1", "involvedObject.kind=Pod"},
		{"(", "=="},
		{"a==", "unknown.field=1"},
		{"a in (", "metadata.name"},
		{"!", "spec.nodeName=="},
		{"a=b=c", `metadata.name=\,`},
		{"a.b/c=d", "spec.unschedulable=true"},
	}
	for i, s := range seeds {
		f.Add(uint8(i), s.label, s.field)
	}
	fs := newFuzzServer(f)
	pod := fuzzKinds()[0]
	if rec := fs.do(http.MethodPost, pod.path, "application/json", mustMarshalJSON(f, pod.seed)); rec.Code != http.StatusCreated {
		f.Fatalf("creating the Pod: %d %s", rec.Code, rec.Body.String())
	}
	f.Fuzz(func(t *testing.T, p uint8, label, field string) {
		q := url.Values{}
		if label != "" {
			q.Set("labelSelector", label)
		}
		if field != "" {
			q.Set("fieldSelector", field)
		}
		target := fmt.Sprintf("%s?%s", paths[int(p)%len(paths)], q.Encode())
		rec := fs.do(http.MethodGet, target, "", nil)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("GET %s answered %d: %s", target, rec.Code, rec.Body.String())
		}
	})
}
