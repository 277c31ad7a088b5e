package conformance

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// srcCRDConversion is the source of the CRD conversion webhook behaviours.
const srcCRDConversion = "Kubernetes: Versions in CustomResourceDefinitions, Webhook conversion (kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/#webhook-conversion); e2e test/e2e/apimachinery/crd_conversion_webhook.go"

// LoopbackWebhooks: the API server reaches webhook servers the specs start on 127.0.0.1 of the
// host the suite runs on (an API server on that host; a cluster elsewhere cannot call them).
const LoopbackWebhooks Capability = "LoopbackWebhooks"

func apiCRDConversionSpecs() []spec[*apiEnv] {
	needs := func(b Behavior) Behavior {
		b.Needs = append(b.Needs, LoopbackWebhooks)
		return b
	}
	return []spec[*apiEnv]{
		{needs(api("api.crd.conversion-webhook", "a custom resource read at a version other than the one it was written at MUST come back converted by its CRD's conversion webhook: in a get, in every item of a list, and in every watch event", srcCRDConversion)), specCRDConversionWebhook},
		{needs(api("api.crd.conversion-webhook-storage", "a custom resource written at a version other than its CRD's storage version MUST be stored as the conversion webhook converted it to the storage version (it reads back at the storage version with the webhook gone)", srcCRDConversion)), specCRDConversionStorage},
		{needs(api("api.crd.conversion-webhook-down", "while a CRD's conversion webhook is unreachable, a create or a get that needs a conversion MUST fail with an error naming the conversion webhook, and the failed create MUST store nothing", srcCRDConversion)), specCRDConversionDown},
	}
}

// conversionWebhook is an HTTPS CRD conversion webhook a spec runs on loopback: it answers
// ConversionReview v1 with Address conversions and counts the objects it converted.
type conversionWebhook struct {
	url       string
	caBundle  []byte
	srv       *http.Server
	converted atomic.Int64
}

// startConversionWebhook serves Address conversions over HTTPS on 127.0.0.1 with a fresh
// self-signed certificate until the spec ends.
func startConversionWebhook(e *apiEnv) (*conversionWebhook, error) {
	cert, caPEM, err := loopbackCertificate()
	if err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	w := &conversionWebhook{url: "https://" + ln.Addr().String() + "/convert", caBundle: caPEM}
	w.srv = &http.Server{Handler: http.HandlerFunc(w.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
	e.c.Cleanup(func() { _ = w.srv.Close() })
	return w, nil
}

func (w *conversionWebhook) serve(rw http.ResponseWriter, r *http.Request) {
	var review apiextensionsv1.ConversionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(rw, "not a ConversionReview", http.StatusBadRequest)
		return
	}
	resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
	for _, raw := range review.Request.Objects {
		var obj map[string]any
		if err := json.Unmarshal(raw.Raw, &obj); err != nil {
			resp.Result = metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
			break
		}
		out, err := json.Marshal(convertAddress(obj, review.Request.DesiredAPIVersion))
		if err != nil {
			resp.Result = metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
			break
		}
		resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: out})
		w.converted.Add(1)
	}
	if resp.Result.Status != metav1.StatusSuccess {
		resp.ConvertedObjects = nil
	}
	review.Request, review.Response = nil, resp
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(&review)
}

// stop closes the webhook's listener: conversions fail from now on.
func (w *conversionWebhook) stop() { _ = w.srv.Close() }

// convertAddress converts an Address between v1 (spec.hostPort "HOST:PORT") and v2
// (spec.host, spec.port) of any group: the apiVersion's version decides.
func convertAddress(obj map[string]any, apiVersion string) map[string]any {
	spec, _, _ := unstructured.NestedMap(obj, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	switch {
	case strings.HasSuffix(apiVersion, "/v2"):
		if hp, ok := spec["hostPort"].(string); ok {
			host, port, _ := net.SplitHostPort(hp)
			delete(spec, "hostPort")
			spec["host"], spec["port"] = host, port
		}
	case strings.HasSuffix(apiVersion, "/v1"):
		host, hok := spec["host"].(string)
		port, pok := spec["port"].(string)
		if hok || pok {
			delete(spec, "host")
			delete(spec, "port")
			spec["hostPort"] = net.JoinHostPort(host, port)
		}
	}
	_ = unstructured.SetNestedMap(obj, spec, "spec")
	obj["apiVersion"] = apiVersion
	return obj
}

// addressFixture is the spec's Address CRD: v1 (the storage version) and v2, converted by
// the spec's webhook.
type addressFixture struct {
	hook  *conversionWebhook
	group string
	v1    dynamic.ResourceInterface
	v2    dynamic.ResourceInterface
}

// newAddressCRD starts the conversion webhook, creates the Address CRD of the spec's group
// (deleted when the spec ends) and waits until both versions are served.
func newAddressCRD(ctx context.Context, g gomega.Gomega, e *apiEnv) *addressFixture {
	hook, err := startConversionWebhook(e)
	ok(g, err, "starting the conversion webhook")
	ax, err := apiextensionsclient.NewForConfig(e.server.Config)
	ok(g, err, "apiextensions client")
	dyn, err := dynamic.NewForConfig(e.server.Config)
	ok(g, err, "dynamic client")
	group := crdGroup(e)
	version := func(name string, storage bool, fields ...string) apiextensionsv1.CustomResourceDefinitionVersion {
		props := map[string]apiextensionsv1.JSONSchemaProps{}
		for _, f := range fields {
			props[f] = apiextensionsv1.JSONSchemaProps{Type: "string"}
		}
		return apiextensionsv1.CustomResourceDefinitionVersion{
			Name: name, Served: true, Storage: storage,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type:       "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: props}},
			}},
		}
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "addresses." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "addresses", Singular: "address", Kind: "Address", ListKind: "AddressList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				version("v1", true, "hostPort"),
				version("v2", false, "host", "port"),
			},
			Conversion: &apiextensionsv1.CustomResourceConversion{
				Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{
					ClientConfig:             &apiextensionsv1.WebhookClientConfig{URL: ptr.To(hook.url), CABundle: hook.caBundle},
					ConversionReviewVersions: []string{"v1"},
				},
			},
		},
	}
	_, err = ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{})
	ok(g, err, "creating the CustomResourceDefinition with a conversion webhook")
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = ax.ApiextensionsV1().CustomResourceDefinitions().Delete(cctx, crd.Name, metav1.DeleteOptions{})
	})
	f := &addressFixture{hook: hook, group: group}
	gvr := func(v string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: group, Version: v, Resource: "addresses"}
	}
	f.v1 = dyn.Resource(gvr("v1")).Namespace(e.ns)
	f.v2 = dyn.Resource(gvr("v2")).Namespace(e.ns)
	g.Eventually(func() error {
		got, err := ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !crdCondition(got, apiextensionsv1.Established) {
			return fmt.Errorf("not Established: %+v", got.Status.Conditions)
		}
		if _, err := f.v1.List(ctx, metav1.ListOptions{}); err != nil {
			return err
		}
		_, err = f.v2.List(ctx, metav1.ListOptions{})
		return err
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(), "the CRD must become Established and both versions served")
	return f
}

// address is an Address at version with spec.
func (f *addressFixture) address(version, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": f.group + "/" + version, "kind": "Address",
		"metadata": map[string]any{"name": name}, "spec": spec,
	}}
}

// expectV2 checks that obj is an Address at v2 with spec.host and spec.port (and no hostPort).
func (f *addressFixture) expectV2(g gomega.Gomega, obj *unstructured.Unstructured, host, port, what string) {
	g.ExpectWithOffset(1, obj.GetAPIVersion()).To(gomega.Equal(f.group+"/v2"), "%s: apiVersion", what)
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	g.ExpectWithOffset(1, spec).To(gomega.Equal(map[string]any{"host": host, "port": port}),
		"%s: spec must be the webhook's v2 conversion (host and port, no hostPort)", what)
}

// expectV1 checks that obj is an Address at v1 with spec.hostPort.
func (f *addressFixture) expectV1(g gomega.Gomega, obj *unstructured.Unstructured, hostPort, what string) {
	g.ExpectWithOffset(1, obj.GetAPIVersion()).To(gomega.Equal(f.group+"/v1"), "%s: apiVersion", what)
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	g.ExpectWithOffset(1, spec).To(gomega.Equal(map[string]any{"hostPort": hostPort}),
		"%s: spec must be the webhook's v1 conversion (hostPort only)", what)
}

func specCRDConversionWebhook(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newAddressCRD(ctx, g, e)
	a, err := f.v1.Create(ctx, f.address("v1", "a", map[string]any{"hostPort": "localhost:8080"}), metav1.CreateOptions{})
	ok(g, err, "creating Address a at v1")
	_, err = f.v2.Create(ctx, f.address("v2", "b", map[string]any{"host": "example.com", "port": "443"}), metav1.CreateOptions{})
	ok(g, err, "creating Address b at v2")

	got, err := f.v2.Get(ctx, "a", metav1.GetOptions{})
	ok(g, err, "reading Address a (written at v1) at v2")
	f.expectV2(g, got, "localhost", "8080", "a read at v2")
	g.Expect(got.GetUID()).To(gomega.Equal(a.GetUID()), "the conversion must keep the object's uid")
	got, err = f.v1.Get(ctx, "b", metav1.GetOptions{})
	ok(g, err, "reading Address b (written at v2) at v1")
	f.expectV1(g, got, "example.com:443", "b read at v1")

	list, err := f.v2.List(ctx, metav1.ListOptions{})
	ok(g, err, "listing Addresses at v2")
	g.Expect(list.Items).To(gomega.HaveLen(2), "the list at v2 must hold a and b")
	for i := range list.Items {
		it := &list.Items[i]
		switch it.GetName() {
		case "a":
			f.expectV2(g, it, "localhost", "8080", "a in the list at v2")
		case "b":
			f.expectV2(g, it, "example.com", "443", "b in the list at v2")
		}
	}

	w, err := f.v2.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	ok(g, err, "watching Addresses at v2")
	defer w.Stop()
	cur, err := f.v1.Get(ctx, "a", metav1.GetOptions{})
	ok(g, err, "reading Address a at v1")
	g.Expect(unstructured.SetNestedField(cur.Object, "localhost:9090", "spec", "hostPort")).To(gomega.Succeed())
	_, err = f.v1.Update(ctx, cur, metav1.UpdateOptions{})
	ok(g, err, "updating Address a at v1")
	var ev watch.Event
	g.Eventually(w.ResultChan()).WithTimeout(30*time.Second).Should(gomega.Receive(&ev), "the watch at v2 must get the update")
	g.Expect(ev.Type).To(gomega.Equal(watch.Modified), "the watch event of the update: %v", ev.Object)
	obj, isU := ev.Object.(*unstructured.Unstructured)
	g.Expect(isU).To(gomega.BeTrue(), "the watch event must carry the Address, not %T", ev.Object)
	f.expectV2(g, obj, "localhost", "9090", "the watch event at v2")
}

func specCRDConversionStorage(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newAddressCRD(ctx, g, e)
	_, err := f.v2.Create(ctx, f.address("v2", "c", map[string]any{"host": "10.0.0.1", "port": "53"}), metav1.CreateOptions{})
	ok(g, err, "creating Address c at v2")
	g.Expect(f.hook.converted.Load()).To(gomega.BeNumerically(">", 0), "the write at v2 must have been converted by the webhook")
	f.hook.stop()
	got, err := f.v1.Get(ctx, "c", metav1.GetOptions{})
	ok(g, err, "reading Address c at the storage version v1 with the webhook gone (it must be stored at v1)")
	f.expectV1(g, got, "10.0.0.1:53", "c read at v1")
}

func specCRDConversionDown(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	f := newAddressCRD(ctx, g, e)
	_, err := f.v1.Create(ctx, f.address("v1", "a", map[string]any{"hostPort": "localhost:8080"}), metav1.CreateOptions{})
	ok(g, err, "creating Address a at v1")
	f.hook.stop()
	_, err = f.v2.Create(ctx, f.address("v2", "d", map[string]any{"host": "h", "port": "1"}), metav1.CreateOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "a create at v2 with the conversion webhook down must fail")
	g.Expect(err.Error()).To(gomega.ContainSubstring("conversion webhook"), "the error must name the conversion webhook")
	_, err = f.v1.Get(ctx, "d", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the failed create must store nothing: a get of d at v1 must be 404, got %v", err)
	_, err = f.v2.Get(ctx, "a", metav1.GetOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "a get at v2 of an Address stored at v1 with the conversion webhook down must fail")
	g.Expect(err.Error()).To(gomega.ContainSubstring("conversion webhook"), "the error must name the conversion webhook")
}
