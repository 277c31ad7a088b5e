package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kube-openapi/pkg/spec3"
	openapiutil "k8s.io/kube-openapi/pkg/util"
	openapispec "k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/utils/ptr"
)

// srcCRD is the source of the CustomResourceDefinition behaviours.
const srcCRD = "Kubernetes: Extend the Kubernetes API with CustomResourceDefinitions (kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions)"

func apiCRDSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.crd.established", "a valid CustomResourceDefinition MUST become Established with its names accepted, and its custom resources MUST then be created, read and listed at /apis/GROUP/VERSION/PLURAL", srcCRD), specCRDEstablished},
		{api("api.crd.name-must-match", "a CustomResourceDefinition whose name is not spec.names.plural+\".\"+spec.group MUST be rejected with 422 naming metadata.name", srcCRD), specCRDNameMustMatch},
		{api("api.crd.schema-validation", "a custom resource that violates its CRD's OpenAPI schema MUST be rejected with 422 naming the field, and nothing stored", srcCRD), specCRDSchemaValidation},
		{api("api.crd.pruning", "fields a custom resource's structural schema does not specify MUST be pruned before it is stored, except under x-kubernetes-preserve-unknown-fields", srcCRD), specCRDPruning},
		{api("api.crd.strict-fields", "a custom resource create with fieldValidation=Strict and a field its schema does not know MUST be rejected with 400 naming the field", srcCRD), specCRDStrictFields},
		{api("api.crd.defaults", "the defaults of a CRD's schema MUST be set on a created custom resource that omits the fields", srcCRD), specCRDDefaults},
		{api("api.crd.defaults-on-read", "a default added to a CRD's schema after a custom resource was stored MUST be set on that custom resource when it is read (get and list), without a write", srcCRD), specCRDDefaultsOnRead},
		{api("api.crd.status-subresource", "with the status subresource, a write of a custom resource MUST NOT change its status and a write to /status MUST change only its status", srcCRD), specCRDStatus},
		{api("api.crd.scale-subresource", "the scale subresource of a custom resource MUST read the replicas at specReplicasPath and statusReplicasPath, and a scale write MUST change only the value at specReplicasPath", srcCRD), specCRDScale},
		{api("api.crd.printer-columns", "a Table of custom resources MUST have the CRD's additionalPrinterColumns, each row holding the values at their JSON paths", srcCRD), specCRDPrinterColumns},
		{api("api.crd.cel-validation", "a custom resource that breaks an x-kubernetes-validations rule of its CRD MUST be rejected with 422 naming the rule's field and carrying the rule's message", srcCRD), specCRDCEL},
		{api("api.crd.openapi", "the schema of each served version of a CustomResourceDefinition MUST be published in /openapi/v2 (definition GROUP-reversed.VERSION.KIND) and in /openapi/v3 (document apis/GROUP/VERSION) with its properties and defaults, and a version no longer served MUST leave both", srcCRD), specCRDOpenAPI},
		{api("api.crd.apply-unknown-field", "a server-side apply of a custom resource with fieldValidation=Strict and a field its CRD's schema does not declare MUST fail naming the field as not declared in the schema, and store nothing", srcCRD), specCRDApplyUnknownField},
		{api("api.crd.delete", "deleting a CustomResourceDefinition MUST delete its custom resources, and its resource MUST then answer 404", srcCRD), specCRDDelete},
	}
}

// crdFixture is one CRD made for a spec (namespaced Widgets in a group of the spec's own).
type crdFixture struct {
	ax      apiextensionsclient.Interface
	dyn     dynamic.Interface
	crd     *apiextensionsv1.CustomResourceDefinition
	gvr     schema.GroupVersionResource
	widgets dynamic.ResourceInterface
}

// widgetCRD is a CRD of the group: spec.replicas (an integer >= 0), spec.color (default
// blue), spec.selector, spec.extra (preserving unknown fields), status.replicas; status and
// scale subresources; Color and Replicas printer columns.
func widgetCRD(group string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"replicas": {Type: "integer", Format: "int32", Minimum: ptr.To(0.0)},
							"color":    {Type: "string", Default: &apiextensionsv1.JSON{Raw: []byte(`"blue"`)}},
							"selector": {Type: "string"},
							"extra":    {Type: "object", XPreserveUnknownFields: ptr.To(true)},
							"max":      {Type: "integer", Format: "int32"},
						}, XValidations: apiextensionsv1.ValidationRules{{
							Rule: "!has(self.max) || !has(self.replicas) || self.replicas <= self.max", Message: celMessage,
						}}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"replicas": {Type: "integer", Format: "int32"},
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
					{Name: "Replicas", Type: "integer", JSONPath: ".spec.replicas"},
				},
			}},
		},
	}
}

// celMessage is the message of the Widget CRD's x-kubernetes-validations rule on spec.
const celMessage = "replicas must not exceed max"

// crdGroup is an API group of the spec's own (its namespace's name is unique).
func crdGroup(e *apiEnv) string { return e.ns + ".conformance.clusterkit.io" }

// newCRD creates the spec's Widget CRD, deletes it when the spec ends, and waits until it is
// Established and its custom resources are served.
func newCRD(ctx context.Context, g gomega.Gomega, e *apiEnv) *crdFixture {
	ax, err := apiextensionsclient.NewForConfig(e.server.Config)
	ok(g, err, "apiextensions client")
	dyn, err := dynamic.NewForConfig(e.server.Config)
	ok(g, err, "dynamic client")
	crd := widgetCRD(crdGroup(e))
	_, err = ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{})
	ok(g, err, "creating the CustomResourceDefinition")
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = ax.ApiextensionsV1().CustomResourceDefinitions().Delete(cctx, crd.Name, metav1.DeleteOptions{})
	})
	f := &crdFixture{ax: ax, dyn: dyn, crd: crd, gvr: schema.GroupVersionResource{Group: crd.Spec.Group, Version: "v1", Resource: "widgets"}}
	f.widgets = dyn.Resource(f.gvr).Namespace(e.ns)
	g.Eventually(func() error {
		got, err := ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !crdCondition(got, apiextensionsv1.Established) {
			return fmt.Errorf("not Established: %+v", got.Status.Conditions)
		}
		return nil
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(), "the CRD must become Established")
	// kube-apiserver starts serving a CRD's resources a moment after it is Established.
	g.Eventually(func() error {
		_, err := f.widgets.List(ctx, metav1.ListOptions{})
		return err
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(), "the custom resources must be served")
	return f
}

func crdCondition(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == t {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// widget is a Widget of the fixture's group.
func (f *crdFixture) widget(name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": f.crd.Spec.Group + "/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name},
		"spec":     spec,
	}}
}

func nested(obj *unstructured.Unstructured, path ...string) (any, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, path...)
	return v, found && err == nil
}

func nestedInt(obj *unstructured.Unstructured, path ...string) int64 {
	v, _ := nested(obj, path...)
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}

func specCRDEstablished(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	got, err := f.ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, f.crd.Name, metav1.GetOptions{})
	ok(g, err, "reading the CRD")
	g.Expect(crdCondition(got, apiextensionsv1.NamesAccepted)).To(gomega.BeTrue(), "NamesAccepted must be True: %+v", got.Status.Conditions)
	g.Expect(got.Status.AcceptedNames.Plural).To(gomega.Equal("widgets"), "status.acceptedNames.plural")
	g.Expect(got.Status.AcceptedNames.Kind).To(gomega.Equal("Widget"), "status.acceptedNames.kind")

	created, err := f.widgets.Create(ctx, f.widget("one", map[string]any{"replicas": int64(1)}), metav1.CreateOptions{})
	ok(g, err, "creating a Widget")
	g.Expect(created.GetUID()).NotTo(gomega.BeEmpty(), "the Widget must get a uid")
	g.Expect(created.GetResourceVersion()).NotTo(gomega.BeEmpty(), "the Widget must get a resourceVersion")
	g.Expect(created.GetGeneration()).To(gomega.Equal(int64(1)), "the Widget must get generation 1")
	read, err := f.widgets.Get(ctx, "one", metav1.GetOptions{})
	ok(g, err, "reading the Widget")
	g.Expect(read.GetUID()).To(gomega.Equal(created.GetUID()))
	g.Expect(read.GetAPIVersion()).To(gomega.Equal(f.crd.Spec.Group + "/v1"))
	g.Expect(read.GetKind()).To(gomega.Equal("Widget"))
	list, err := f.widgets.List(ctx, metav1.ListOptions{})
	ok(g, err, "listing Widgets")
	g.Expect(list.GetKind()).To(gomega.Equal("WidgetList"))
	names := []string{}
	for _, it := range list.Items {
		names = append(names, it.GetName())
	}
	g.Expect(names).To(gomega.ConsistOf("one"), "the list must hold exactly the created Widget")
}

func specCRDNameMustMatch(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	ax, err := apiextensionsclient.NewForConfig(e.server.Config)
	ok(g, err, "apiextensions client")
	crd := widgetCRD(crdGroup(e))
	crd.Name = "gadgets." + crd.Spec.Group
	_, err = ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{})
	if err == nil {
		e.c.Cleanup(func() {
			_ = ax.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), crd.Name, metav1.DeleteOptions{})
		})
	}
	expectInvalid(g, err, "creating a CRD named "+crd.Name, "metadata.name")
}

func specCRDSchemaValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	_, err := f.widgets.Create(ctx, f.widget("negative", map[string]any{"replicas": int64(-1)}), metav1.CreateOptions{})
	expectInvalid(g, err, "creating a Widget with spec.replicas -1 (minimum 0)", "spec.replicas")
	_, err = f.widgets.Create(ctx, f.widget("wrong-type", map[string]any{"color": int64(3)}), metav1.CreateOptions{})
	expectInvalid(g, err, "creating a Widget with an integer spec.color (a string)", "spec.color")
	for _, name := range []string{"negative", "wrong-type"} {
		_, err := f.widgets.Get(ctx, name, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected Widget %s must not be stored (Get returned %v)", name, err)
	}
}

func specCRDPruning(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	w := f.widget("pruned", map[string]any{
		"replicas": int64(1), "unknown": "dropped",
		"extra": map[string]any{"kept": "yes", "deep": map[string]any{"also": "kept"}},
	})
	w.Object["topLevelUnknown"] = "dropped"
	_, err := f.widgets.Create(ctx, w, metav1.CreateOptions{FieldValidation: "Ignore"})
	ok(g, err, "creating a Widget with unknown fields")
	got, err := f.widgets.Get(ctx, "pruned", metav1.GetOptions{})
	ok(g, err, "reading the Widget")
	_, found := nested(got, "spec", "unknown")
	g.Expect(found).To(gomega.BeFalse(), "spec.unknown is not in the schema and must be pruned: %v", got.Object)
	_, found = nested(got, "topLevelUnknown")
	g.Expect(found).To(gomega.BeFalse(), "topLevelUnknown is not in the schema and must be pruned: %v", got.Object)
	v, _ := nested(got, "spec", "extra", "deep", "also")
	g.Expect(v).To(gomega.Equal("kept"), "fields under x-kubernetes-preserve-unknown-fields must be kept: %v", got.Object)
	g.Expect(nestedInt(got, "spec", "replicas")).To(gomega.Equal(int64(1)), "known fields must be kept")

	// An update is pruned too.
	got.Object["spec"].(map[string]any)["later"] = "dropped"
	_, err = f.widgets.Update(ctx, got, metav1.UpdateOptions{FieldValidation: "Ignore"})
	ok(g, err, "updating the Widget with an unknown field")
	got, err = f.widgets.Get(ctx, "pruned", metav1.GetOptions{})
	ok(g, err, "reading the Widget")
	_, found = nested(got, "spec", "later")
	g.Expect(found).To(gomega.BeFalse(), "an unknown field written by an update must be pruned: %v", got.Object)
}

func specCRDStrictFields(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	_, err := f.widgets.Create(ctx, f.widget("strict", map[string]any{"notAField": "x"}), metav1.CreateOptions{FieldValidation: "Strict"})
	g.Expect(err).To(gomega.HaveOccurred(), "an unknown field with fieldValidation=Strict must be rejected")
	g.Expect(apierrors.IsBadRequest(err)).To(gomega.BeTrue(), "expected 400 BadRequest, got %v", err)
	g.Expect(err.Error()).To(gomega.ContainSubstring("notAField"), "the error must name the unknown field")
	_, err = f.widgets.Get(ctx, "strict", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected Widget must not be stored (Get returned %v)", err)
}

func specCRDDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	created, err := f.widgets.Create(ctx, f.widget("defaulted", map[string]any{"replicas": int64(1)}), metav1.CreateOptions{})
	ok(g, err, "creating a Widget without spec.color")
	v, _ := nested(created, "spec", "color")
	g.Expect(v).To(gomega.Equal("blue"), "spec.color must get its default in the create's response: %v", created.Object)
	got, err := f.widgets.Get(ctx, "defaulted", metav1.GetOptions{})
	ok(g, err, "reading the Widget")
	v, _ = nested(got, "spec", "color")
	g.Expect(v).To(gomega.Equal("blue"), "spec.color must get its default: %v", got.Object)
	explicit, err := f.widgets.Create(ctx, f.widget("explicit", map[string]any{"color": "red"}), metav1.CreateOptions{})
	ok(g, err, "creating a Widget with spec.color")
	v, _ = nested(explicit, "spec", "color")
	g.Expect(v).To(gomega.Equal("red"), "a value that is set must not be defaulted")
}

func specCRDDefaultsOnRead(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	stored, err := f.widgets.Create(ctx, f.widget("older", map[string]any{"replicas": int64(1)}), metav1.CreateOptions{})
	ok(g, err, "creating a Widget")
	g.Eventually(func() error {
		crd, err := f.ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, f.crd.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
		spec.Properties["shape"] = apiextensionsv1.JSONSchemaProps{Type: "string", Default: &apiextensionsv1.JSON{Raw: []byte(`"round"`)}}
		crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		_, err = f.ax.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(10*time.Second).Should(gomega.Succeed(), "adding spec.shape with default \"round\" to the CRD's schema")
	g.Eventually(func() error {
		got, err := f.widgets.Get(ctx, "older", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if v, _ := nested(got, "spec", "shape"); v != "round" {
			return fmt.Errorf("get: spec.shape is %v", v)
		}
		list, err := f.widgets.List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, item := range list.Items {
			if v, _ := nested(&item, "spec", "shape"); item.GetName() == "older" && v != "round" {
				return fmt.Errorf("list: spec.shape is %v", v)
			}
		}
		return nil
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "the Widget stored before the default existed must be read with it")
	got, err := f.widgets.Get(ctx, "older", metav1.GetOptions{})
	ok(g, err, "reading the Widget")
	g.Expect(got.GetResourceVersion()).To(gomega.Equal(stored.GetResourceVersion()), "defaulting on read must not write the object")
}

func specCRDStatus(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	w := f.widget("status", map[string]any{"replicas": int64(1)})
	w.Object["status"] = map[string]any{"replicas": int64(9)}
	created, err := f.widgets.Create(ctx, w, metav1.CreateOptions{})
	ok(g, err, "creating a Widget with a status")
	_, found := nested(created, "status")
	g.Expect(found).To(gomega.BeFalse(), "a create must not set status when the status subresource is on: %v", created.Object)

	created.Object["status"] = map[string]any{"replicas": int64(3)}
	withStatus, err := f.widgets.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	ok(g, err, "writing /status")
	g.Expect(nestedInt(withStatus, "status", "replicas")).To(gomega.Equal(int64(3)), "a /status write must set status")

	// A /status write carrying a spec change changes only status.
	withStatus.Object["spec"].(map[string]any)["replicas"] = int64(5)
	withStatus.Object["status"] = map[string]any{"replicas": int64(4)}
	afterStatus, err := f.widgets.UpdateStatus(ctx, withStatus, metav1.UpdateOptions{})
	ok(g, err, "writing /status with a spec change")
	g.Expect(nestedInt(afterStatus, "spec", "replicas")).To(gomega.Equal(int64(1)), "a /status write must not change spec")
	g.Expect(nestedInt(afterStatus, "status", "replicas")).To(gomega.Equal(int64(4)), "a /status write must set status")

	// A write of the main resource carrying a status change changes only spec.
	afterStatus.Object["spec"].(map[string]any)["replicas"] = int64(2)
	afterStatus.Object["status"] = map[string]any{"replicas": int64(8)}
	afterMain, err := f.widgets.Update(ctx, afterStatus, metav1.UpdateOptions{})
	ok(g, err, "writing the Widget with a status change")
	g.Expect(nestedInt(afterMain, "spec", "replicas")).To(gomega.Equal(int64(2)), "a write of the main resource must change spec")
	g.Expect(nestedInt(afterMain, "status", "replicas")).To(gomega.Equal(int64(4)), "a write of the main resource must not change status")
	g.Expect(afterMain.GetGeneration()).To(gomega.Equal(int64(2)), "the spec change must move the generation (and the status writes must not)")
}

func specCRDScale(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	created, err := f.widgets.Create(ctx, f.widget("scaled", map[string]any{"replicas": int64(2), "selector": "app=scaled", "color": "green"}), metav1.CreateOptions{})
	ok(g, err, "creating a Widget")
	created.Object["status"] = map[string]any{"replicas": int64(1)}
	_, err = f.widgets.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	ok(g, err, "writing /status")

	scale, err := f.widgets.Get(ctx, "scaled", metav1.GetOptions{}, "scale")
	ok(g, err, "reading the scale subresource")
	g.Expect(scale.GetKind()).To(gomega.Equal("Scale"))
	g.Expect(scale.GetAPIVersion()).To(gomega.Equal("autoscaling/v1"))
	g.Expect(nestedInt(scale, "spec", "replicas")).To(gomega.Equal(int64(2)), "scale spec.replicas must be the Widget's spec.replicas")
	g.Expect(nestedInt(scale, "status", "replicas")).To(gomega.Equal(int64(1)), "scale status.replicas must be the Widget's status.replicas")
	sel, _ := nested(scale, "status", "selector")
	g.Expect(sel).To(gomega.Equal("app=scaled"), "scale status.selector must be the value at labelSelectorPath")

	g.Expect(unstructured.SetNestedField(scale.Object, int64(6), "spec", "replicas")).To(gomega.Succeed())
	_, err = f.widgets.Update(ctx, scale, metav1.UpdateOptions{}, "scale")
	ok(g, err, "writing the scale subresource")
	got, err := f.widgets.Get(ctx, "scaled", metav1.GetOptions{})
	ok(g, err, "reading the Widget")
	g.Expect(nestedInt(got, "spec", "replicas")).To(gomega.Equal(int64(6)), "a scale write must set spec.replicas")
	v, _ := nested(got, "spec", "color")
	g.Expect(v).To(gomega.Equal("green"), "a scale write must not change other fields")
	g.Expect(nestedInt(got, "status", "replicas")).To(gomega.Equal(int64(1)), "a scale write must not change status")
}

func specCRDPrinterColumns(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	_, err := f.widgets.Create(ctx, f.widget("printed", map[string]any{"replicas": int64(4), "color": "red"}), metav1.CreateOptions{})
	ok(g, err, "creating a Widget")
	raw, err := e.client.Discovery().RESTClient().Get().
		AbsPath("/apis", f.gvr.Group, f.gvr.Version, "namespaces", e.ns, f.gvr.Resource).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Raw()
	ok(g, err, "listing Widgets as a Table")
	var table metav1.Table
	g.Expect(json.Unmarshal(raw, &table)).To(gomega.Succeed(), "the answer must be a Table: %s", raw)
	g.Expect(table.Kind).To(gomega.Equal("Table"), "the answer must be a Table: %s", raw)
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	g.Expect(cols).To(gomega.ContainElements("Name", "Color", "Replicas"), "the Table must have the printer columns")
	g.Expect(table.Rows).To(gomega.HaveLen(1), "one row per Widget")
	cell := func(name string) any {
		for i, c := range table.ColumnDefinitions {
			if c.Name == name && i < len(table.Rows[0].Cells) {
				return table.Rows[0].Cells[i]
			}
		}
		return nil
	}
	g.Expect(cell("Name")).To(gomega.Equal("printed"))
	g.Expect(cell("Color")).To(gomega.Equal("red"), "the Color cell must be spec.color")
	g.Expect(cell("Replicas")).To(gomega.BeNumerically("==", 4), "the Replicas cell must be spec.replicas")
}

func specCRDDelete(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	for _, name := range []string{"a", "b"} {
		_, err := f.widgets.Create(ctx, f.widget(name, map[string]any{"replicas": int64(1)}), metav1.CreateOptions{})
		ok(g, err, "creating Widget "+name)
	}
	ok(g, f.ax.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, f.crd.Name, metav1.DeleteOptions{}), "deleting the CRD")
	g.Eventually(func() bool {
		_, err := f.ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, f.crd.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.BeTrue(), "the CRD must be gone once its custom resources are deleted")
	g.Eventually(func() bool {
		_, err := f.widgets.List(ctx, metav1.ListOptions{})
		return apierrors.IsNotFound(err)
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.BeTrue(), "the Widgets' resource must answer 404 once the CRD is gone")

	// A new CRD of the same name must not bring the old custom resources back.
	_, err := f.ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, widgetCRD(f.crd.Spec.Group), metav1.CreateOptions{})
	ok(g, err, "creating the CRD again")
	g.Eventually(func() error {
		list, err := f.widgets.List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != 0 {
			return fmt.Errorf("the deleted Widgets came back: %d items", len(list.Items))
		}
		return nil
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(), "the custom resources of a deleted CRD must be gone")
}

func specCRDCEL(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	_, err := f.widgets.Create(ctx, f.widget("over", map[string]any{"replicas": int64(5), "max": int64(3)}), metav1.CreateOptions{})
	expectInvalid(g, err, "creating a Widget with spec.replicas above spec.max", "spec")
	g.Expect(err.Error()).To(gomega.ContainSubstring(celMessage), "the 422 must carry the rule's message")
	_, err = f.widgets.Get(ctx, "over", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected Widget must not be stored (Get returned %v)", err)

	created, err := f.widgets.Create(ctx, f.widget("within", map[string]any{"replicas": int64(2), "max": int64(3)}), metav1.CreateOptions{})
	ok(g, err, "creating a Widget that keeps the rule")
	created.Object["spec"].(map[string]any)["replicas"] = int64(4)
	_, err = f.widgets.Update(ctx, created, metav1.UpdateOptions{})
	expectInvalid(g, err, "updating a Widget to spec.replicas above spec.max", "spec")
}

// openAPIDefinition is the name a CRD version's schema has in /openapi/v2 and /openapi/v3:
// the reversed group, the version and the kind (io.example.stable.v1.Widget).
func openAPIDefinition(group, version, kind string) string {
	return openapiutil.ToRESTFriendlyName(group + "/" + version + "/" + kind)
}

// crdPublished reports whether the served schema of Widget at version is published in
// /openapi/v2 and in the /openapi/v3 document of its group-version, with its properties.
func crdPublished(ctx context.Context, e *apiEnv, group, version string) (bool, string, error) {
	core, err := kubernetes.NewForConfig(e.server.Config)
	if err != nil {
		return false, "", err
	}
	name := openAPIDefinition(group, version, "Widget")
	body, err := core.Discovery().RESTClient().Get().AbsPath("/openapi/v2").SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		return false, "", fmt.Errorf("GET /openapi/v2: %w", err)
	}
	var v2 openapispec.Swagger
	if err := json.Unmarshal(body, &v2); err != nil {
		return false, "", fmt.Errorf("decoding /openapi/v2: %w", err)
	}
	def, inV2 := v2.Definitions[name]
	paths, err := core.Discovery().OpenAPIV3().Paths()
	if err != nil {
		return false, "", fmt.Errorf("GET /openapi/v3: %w", err)
	}
	gv, inV3 := paths["apis/"+group+"/"+version]
	if !inV2 && !inV3 {
		return false, "neither /openapi/v2 nor /openapi/v3 has " + name, nil
	}
	if !inV2 || !inV3 {
		return true, fmt.Sprintf("%s is in /openapi/v2: %v, in the /openapi/v3 index: %v", name, inV2, inV3), nil
	}
	if _, ok := def.Properties["spec"].Properties["replicas"]; !ok {
		return true, fmt.Sprintf("/openapi/v2 %s lacks spec.replicas of the CRD's schema", name), nil
	}
	docBody, err := gv.Schema("application/json")
	if err != nil {
		return false, "", fmt.Errorf("GET the /openapi/v3 document of %s/%s: %w", group, version, err)
	}
	var v3 spec3.OpenAPI
	if err := json.Unmarshal(docBody, &v3); err != nil {
		return false, "", fmt.Errorf("decoding the /openapi/v3 document of %s/%s: %w", group, version, err)
	}
	if v3.Components == nil || v3.Components.Schemas[name] == nil {
		return true, fmt.Sprintf("the /openapi/v3 document of %s/%s lacks %s", group, version, name), nil
	}
	color, ok := v3.Components.Schemas[name].Properties["spec"].Properties["color"]
	if !ok || color.Default != "blue" {
		return true, fmt.Sprintf("/openapi/v3 %s lacks spec.color with its default \"blue\" (got %+v)", name, color.SchemaProps), nil
	}
	return true, "", nil
}

func specCRDOpenAPI(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	group := f.crd.Spec.Group
	published := func(version string, want bool) {
		g.Eventually(func() error {
			present, problem, err := crdPublished(ctx, e, group, version)
			switch {
			case err != nil:
				return err
			case present != want:
				return fmt.Errorf("want %s published: %v; %s", version, want, problem)
			case want && problem != "":
				return errors.New(problem)
			}
			return nil
		}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Succeed(),
			"the schema of Widget %s must be published in /openapi/v2 and /openapi/v3: %v", version, want)
	}
	published("v1", true)

	// A second served version is published too; once it is no longer served, it leaves both
	// documents while v1 stays.
	g.Eventually(func() error {
		crd, err := f.ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, f.crd.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		v2 := *crd.Spec.Versions[0].DeepCopy()
		v2.Name, v2.Storage = "v2", false
		crd.Spec.Versions = append(crd.Spec.Versions, v2)
		_, err = f.ax.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(10*time.Second).Should(gomega.Succeed(), "adding version v2 to the CRD")
	published("v2", true)
	g.Eventually(func() error {
		crd, err := f.ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, f.crd.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		crd.Spec.Versions[1].Served = false
		_, err = f.ax.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(10*time.Second).Should(gomega.Succeed(), "marking version v2 not served")
	published("v2", false)
	published("v1", true)
}

func specCRDApplyUnknownField(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newCRD(ctx, g, e)
	apply := func(name, body string) (*unstructured.Unstructured, error) {
		patch := fmt.Sprintf(`{"apiVersion":%q,"kind":"Widget","metadata":{"name":%q},%s}`, f.crd.Spec.Group+"/v1", name, body)
		return f.widgets.Patch(ctx, name, types.ApplyPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "conformance", FieldValidation: "Strict"})
	}
	_, err := apply("undeclared", `"spec":{"replicas":1,"gear":"x"}`)
	g.Expect(err).To(gomega.HaveOccurred(), "a Strict apply with spec.gear, which the schema does not declare, must fail")
	g.Expect(err.Error()).To(gomega.And(gomega.ContainSubstring(".spec.gear"), gomega.ContainSubstring("not declared in schema")),
		"the error must name .spec.gear as not declared in the schema")
	_, err = f.widgets.Get(ctx, "undeclared", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the refused apply must store nothing (Get returned %v)", err)

	// Under x-kubernetes-preserve-unknown-fields (spec.extra) anything goes.
	got, err := apply("preserved", `"spec":{"replicas":1,"extra":{"anything":"goes"}}`)
	ok(g, err, "applying a Widget with unknown fields under spec.extra")
	v, _ := nested(got, "spec", "extra", "anything")
	g.Expect(v).To(gomega.Equal("goes"), "spec.extra.anything must be kept")
}
