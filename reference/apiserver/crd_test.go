package apiserver_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

var widgetGVR = schema.GroupVersionResource{Group: "example.clusterkit.io", Version: "v1", Resource: "widgets"}

func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.clusterkit.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.clusterkit.io",
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ShortNames: []string{"wd"}},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"replicas": {Type: "integer", Minimum: ptr.To(0.0)},
							"color":    {Type: "string", Default: &apiextensionsv1.JSON{Raw: []byte(`"blue"`)}},
							"selector": {Type: "string"},
						}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"replicas": {Type: "integer"},
						}},
					},
				}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
					Scale: &apiextensionsv1.CustomResourceSubresourceScale{
						SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas", LabelSelectorPath: ptr.To(".spec.selector"),
					},
				},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					{Name: "Color", Type: "string", JSONPath: ".spec.color"},
				},
			}},
		},
	}
}

func establish(t *testing.T, ctx context.Context, ts *testServer, crd *apiextensionsv1.CustomResourceDefinition) apiextensionsclient.Interface {
	t.Helper()
	ax := apiextensionsclient.NewForConfigOrDie(ts.config)
	if _, err := ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD: %v", err)
	}
	eventually(t, "CRD established", func() bool {
		got, err := ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true
			}
		}
		return false
	})
	return ax
}

func widget(name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.clusterkit.io/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name},
		"spec":     spec,
	}}
	return u
}

func TestCRDServesCustomResources(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	ax := establish(t, ctx, ts, widgetCRD())
	dyn := dynamic.NewForConfigOrDie(ts.config)
	widgets := dyn.Resource(widgetGVR).Namespace("default")

	var created *unstructured.Unstructured
	eventually(t, "widgets served", func() bool {
		var err error
		created, err = widgets.Create(ctx, widget("w1", map[string]any{"replicas": int64(2), "bogus": "x", "selector": "app=w"}), metav1.CreateOptions{})
		return err == nil
	})
	if _, found, _ := unstructured.NestedFieldNoCopy(created.Object, "spec", "bogus"); found {
		t.Errorf("unknown field spec.bogus not pruned: %v", created.Object)
	}
	if c, _, _ := unstructured.NestedString(created.Object, "spec", "color"); c != "blue" {
		t.Errorf("spec.color = %q, want the default blue", c)
	}
	if created.GetGeneration() != 1 || created.GetUID() == "" {
		t.Errorf("system fields: generation %d uid %q", created.GetGeneration(), created.GetUID())
	}

	_, err := widgets.Create(ctx, widget("w2", map[string]any{"replicas": int64(-1)}), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.replicas") {
		t.Errorf("negative replicas: err = %v, want 422 naming spec.replicas", err)
	}

	_, err = widgets.Create(ctx, widget("w3", map[string]any{"nope": true}), metav1.CreateOptions{FieldValidation: "Strict"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `unknown field "spec.nope"`) {
		t.Errorf("strict unknown field: err = %v", err)
	}

	// Status is split from spec.
	created.Object["status"] = map[string]any{"replicas": int64(5)}
	upd, err := widgets.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(upd.Object, "status"); found {
		t.Errorf("update of the main resource wrote status: %v", upd.Object["status"])
	}
	upd.Object["status"] = map[string]any{"replicas": int64(5), "unknown": "x"}
	st, err := widgets.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(st.Object, "status", "unknown"); found {
		t.Errorf("a /status write was not pruned: %v", st.Object["status"])
	}
	if n, _, _ := unstructured.NestedInt64(st.Object, "status", "replicas"); n != 5 {
		t.Errorf("status.replicas = %d, want 5", n)
	}

	// Scale.
	scale, err := widgets.Get(ctx, "w1", metav1.GetOptions{}, "scale")
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if n, _, _ := unstructured.NestedInt64(scale.Object, "spec", "replicas"); n != 2 {
		t.Errorf("scale spec.replicas = %d, want 2: %v", n, scale.Object)
	}
	if n, _, _ := unstructured.NestedInt64(scale.Object, "status", "replicas"); n != 5 {
		t.Errorf("scale status.replicas = %d, want 5: %v", n, scale.Object)
	}
	if sel, _, _ := unstructured.NestedString(scale.Object, "status", "selector"); sel != "app=w" {
		t.Errorf("scale status.selector = %q", sel)
	}
	_ = unstructured.SetNestedField(scale.Object, int64(7), "spec", "replicas")
	if _, err := widgets.Update(ctx, scale, metav1.UpdateOptions{}, "scale"); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	got, err := widgets.Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); n != 7 {
		t.Errorf("spec.replicas after scale = %d, want 7", n)
	}

	// Deleting the CRD deletes its custom resources and stops serving them.
	if err := ax.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, "widgets.example.clusterkit.io", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete CRD: %v", err)
	}
	eventually(t, "CRD gone", func() bool {
		_, err := ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "widgets.example.clusterkit.io", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	// The CRD controller stops serving them in the pass that deleted the CRD, right after the
	// delete (kube-apiserver: when its CRD informer sees the deletion) — soon, not at once.
	eventually(t, "custom resources no longer served after the CRD's deletion", func() bool {
		_, err := widgets.List(ctx, metav1.ListOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := ts.store.Get(ctx, "/registry/example.clusterkit.io/widgets/default/w1"); err == nil {
		t.Errorf("custom resource still stored after its CRD was deleted")
	}
}

func TestCRDDiscoveryWatchAndNamespaceCleanup(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	establish(t, ctx, ts, widgetCRD())
	rl, err := ts.client.Discovery().ServerResourcesForGroupVersion("example.clusterkit.io/v1")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	found := map[string]bool{}
	for _, r := range rl.APIResources {
		found[r.Name] = true
		if r.Name == "widgets" && (!r.Namespaced || r.Kind != "Widget" || len(r.ShortNames) != 1) {
			t.Errorf("widgets in discovery: %+v", r)
		}
	}
	for _, want := range []string{"widgets", "widgets/status", "widgets/scale"} {
		if !found[want] {
			t.Errorf("discovery lacks %s: %v", want, found)
		}
	}

	if _, err := ts.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crs"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	widgets := dynamic.NewForConfigOrDie(ts.config).Resource(widgetGVR).Namespace("crs")
	w, err := widgets.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	if _, err := widgets.Create(ctx, widget("w1", map[string]any{"replicas": int64(1)}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := <-w.ResultChan()
	if u, ok := ev.Object.(*unstructured.Unstructured); !ok || u.GetName() != "w1" || string(ev.Type) != "ADDED" {
		t.Fatalf("watch event: %v %#v", ev.Type, ev.Object)
	}
	sel, err := widgets.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=w1"})
	if err != nil || len(sel.Items) != 1 {
		t.Fatalf("field selector list: %v %v", err, sel)
	}

	if err := ts.client.CoreV1().Namespaces().Delete(ctx, "crs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace with custom resources deleted", func() bool {
		_, err := ts.client.CoreV1().Namespaces().Get(ctx, "crs", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := ts.store.Get(ctx, "/registry/example.clusterkit.io/widgets/crs/w1"); err == nil {
		t.Errorf("custom resource left behind by its namespace's deletion")
	}
}

func TestCRDNamesConflictAndRestart(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	ax := establish(t, ctx, ts, widgetCRD())
	other := widgetCRD()
	other.Name = "gadgets.example.clusterkit.io"
	other.Spec.Names = apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Kind: "Widget"}
	if _, err := ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "NamesAccepted False on a name conflict (singular widget, defaulted from the kind)", func() bool {
		got, err := ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, other.Name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.NamesAccepted && c.Status == apiextensionsv1.ConditionFalse {
				return true
			}
		}
		return false
	})

	// A second server on the same store serves the established CRD at once.
	srv, err := apiserver.New(apiserver.Config{Store: ts.store})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.Registry().Lookup(widgetGVR) == nil {
		t.Errorf("a restarted server does not serve the established CRD's resource")
	}
	if srv.Registry().Lookup(schema.GroupVersionResource{Group: "example.clusterkit.io", Version: "v1", Resource: "gadgets"}) != nil {
		t.Errorf("a CRD whose names were not accepted is served")
	}
}

func TestCRDValidation(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	ax := apiextensionsclient.NewForConfigOrDie(ts.config)
	bad := widgetCRD()
	bad.Name = "wrong.example.clusterkit.io"
	bad.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = apiextensionsv1.JSONSchemaProps{Type: "bogus"}
	_, err := ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("invalid CRD: %v", err)
	}
	var fields []string
	for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
		fields = append(fields, c.Field)
	}
	joined := strings.Join(fields, " ")
	if !strings.Contains(joined, "metadata.name") || !strings.Contains(joined, "openAPIV3Schema.properties[spec].type") {
		t.Errorf("causes: %v", fields)
	}
	// (A schema shared by every version is reported under spec.validation, as kube-apiserver:
	// apiextensions' internal type holds it there.)
	// Defaults: conversion None.
	got, err := ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, widgetCRD(), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Conversion == nil || got.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter {
		t.Errorf("spec.conversion not defaulted: %+v", got.Spec.Conversion)
	}
	if len(got.Status.StoredVersions) != 1 || got.Status.StoredVersions[0] != "v1" {
		t.Errorf("status.storedVersions = %v", got.Status.StoredVersions)
	}
}

func TestCRDCELAndPatch(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	crd := widgetCRD()
	spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	spec.Properties["max"] = apiextensionsv1.JSONSchemaProps{Type: "integer"}
	spec.XValidations = apiextensionsv1.ValidationRules{{Rule: "!has(self.max) || !has(self.replicas) || self.replicas <= self.max", Message: "replicas must not exceed max"}}
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
	establish(t, ctx, ts, crd)
	widgets := dynamic.NewForConfigOrDie(ts.config).Resource(widgetGVR).Namespace("default")
	_, err := widgets.Create(ctx, widget("over", map[string]any{"replicas": int64(5), "max": int64(3)}), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "replicas must not exceed max") {
		t.Fatalf("CEL rule: %v", err)
	}
	if _, err := widgets.Create(ctx, widget("ok", map[string]any{"replicas": int64(2), "max": int64(3)}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = widgets.Patch(ctx, "ok", types.MergePatchType, []byte(`{"spec":{"replicas":9}}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("merge patch breaking the CEL rule: %v", err)
	}
	got, err := widgets.Patch(ctx, "ok", types.MergePatchType, []byte(`{"spec":{"replicas":1,"junk":1}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "junk"); found {
		t.Errorf("a patched unknown field was not pruned")
	}
	_, err = widgets.Patch(ctx, "ok", types.StrategicMergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{})
	if !apierrors.IsUnsupportedMediaType(err) {
		t.Errorf("strategic merge patch of a custom resource: %v, want 415", err)
	}
}
