package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

const addressGroup = "convert.clusterkit.io"

// addressCRD has two versions of one kind: v1 (storage) holds spec.hostPort "HOST:PORT", v2
// spec.host and spec.port; the webhook at url converts between them.
func addressCRD(url string, caBundle []byte) *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	version := func(name string, storage bool, fields ...string) apiextensionsv1.CustomResourceDefinitionVersion {
		props := map[string]apiextensionsv1.JSONSchemaProps{}
		for _, f := range fields {
			props[f] = str
		}
		return apiextensionsv1.CustomResourceDefinitionVersion{
			Name: name, Served: true, Storage: storage,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type:       "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: props}},
			}},
		}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "addresses." + addressGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: addressGroup,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "addresses", Singular: "address", Kind: "Address"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				version("v1", true, "hostPort"),
				version("v2", false, "host", "port"),
			},
			Conversion: &apiextensionsv1.CustomResourceConversion{
				Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{
					ClientConfig:             &apiextensionsv1.WebhookClientConfig{URL: ptr.To(url), CABundle: caBundle},
					ConversionReviewVersions: []string{"v1"},
				},
			},
		},
	}
}

// convertAddress converts one Address to apiVersion.
func convertAddress(obj map[string]any, apiVersion string) map[string]any {
	u := &unstructured.Unstructured{Object: obj}
	spec, _, _ := unstructured.NestedMap(obj, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	switch apiVersion {
	case addressGroup + "/v2":
		if hp, ok := spec["hostPort"].(string); ok {
			host, port, _ := net.SplitHostPort(hp)
			delete(spec, "hostPort")
			spec["host"], spec["port"] = host, port
		}
	case addressGroup + "/v1":
		host, _ := spec["host"].(string)
		port, _ := spec["port"].(string)
		delete(spec, "host")
		delete(spec, "port")
		spec["hostPort"] = net.JoinHostPort(host, port)
	}
	_ = unstructured.SetNestedMap(obj, spec, "spec")
	u.SetAPIVersion(apiVersion)
	return u.Object
}

// hookCounts counts the reviews a conversion webhook answered and the objects it converted.
type hookCounts struct {
	reviews, converted atomic.Int64
	// largest is the most objects one review held.
	largest atomic.Int64
}

// conversionWebhook serves ConversionReview v1 with convertAddress over TLS.
func conversionWebhook(t *testing.T) (*httptest.Server, *hookCounts) {
	counts := &hookCounts{}
	converted := &counts.converted
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review apiextensionsv1.ConversionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "not a ConversionReview", http.StatusBadRequest)
			return
		}
		resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
		for _, raw := range review.Request.Objects {
			var obj map[string]any
			if err := json.Unmarshal(raw.Raw, &obj); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			out, _ := json.Marshal(convertAddress(obj, review.Request.DesiredAPIVersion))
			resp.ConvertedObjects = append(resp.ConvertedObjects, runtimeRaw(out))
			converted.Add(1)
		}
		counts.reviews.Add(1)
		if n := int64(len(resp.ConvertedObjects)); n > counts.largest.Load() {
			counts.largest.Store(n)
		}
		review.Request, review.Response = nil, resp
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&review)
	}))
	t.Cleanup(srv.Close)
	return srv, counts
}

func TestCRDConversionWebhook(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	hook, counts := conversionWebhook(t)
	converted := &counts.converted
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hook.Certificate().Raw})
	establish(t, ctx, ts, addressCRD(hook.URL+"/convert", caBundle))
	dyn := dynamic.NewForConfigOrDie(ts.config)
	gvr := func(v string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: addressGroup, Version: v, Resource: "addresses"}
	}
	v1 := dyn.Resource(gvr("v1")).Namespace("default")
	v2 := dyn.Resource(gvr("v2")).Namespace("default")
	address := func(version, name string, spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": addressGroup + "/" + version, "kind": "Address",
			"metadata": map[string]any{"name": name}, "spec": spec,
		}}
	}
	specOf := func(u *unstructured.Unstructured) map[string]any {
		s, _, _ := unstructured.NestedMap(u.Object, "spec")
		return s
	}
	wantV2 := func(what string, u *unstructured.Unstructured, host, port string) {
		t.Helper()
		if u.GetAPIVersion() != addressGroup+"/v2" {
			t.Errorf("%s: apiVersion %q, want %s/v2", what, u.GetAPIVersion(), addressGroup)
		}
		if s := specOf(u); s["host"] != host || s["port"] != port || s["hostPort"] != nil {
			t.Errorf("%s: spec %v, want host %s port %s", what, s, host, port)
		}
	}

	// Created at v1 (the storage version): no conversion.
	var created *unstructured.Unstructured
	eventually(t, "addresses served", func() bool {
		var err error
		created, err = v1.Create(ctx, address("v1", "a", map[string]any{"hostPort": "localhost:8080"}), metav1.CreateOptions{})
		return err == nil
	})
	if n := converted.Load(); n != 0 {
		t.Errorf("a write and read at the storage version called the webhook for %d objects", n)
	}

	// Read at v2: converted.
	got, err := v2.Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get at v2: %v", err)
	}
	wantV2("get at v2", got, "localhost", "8080")
	if got.GetUID() != created.GetUID() || got.GetResourceVersion() != created.GetResourceVersion() {
		t.Errorf("get at v2: metadata changed: uid %s rv %s, want %s %s", got.GetUID(), got.GetResourceVersion(), created.GetUID(), created.GetResourceVersion())
	}
	list, err := v2.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list at v2: %v, %v", list, err)
	}
	if list.GetAPIVersion() != addressGroup+"/v2" {
		t.Errorf("list at v2: apiVersion %q", list.GetAPIVersion())
	}
	wantV2("list at v2", &list.Items[0], "localhost", "8080")

	// Watch at v2: the initial event and a change made at v1, converted.
	w, err := v2.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch at v2: %v", err)
	}
	defer w.Stop()
	ev := <-w.ResultChan()
	if ev.Type != watch.Added {
		t.Fatalf("watch at v2: first event %v %v", ev.Type, ev.Object)
	}
	wantV2("watch ADDED at v2", ev.Object.(*unstructured.Unstructured), "localhost", "8080")
	cur, err := v1.Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(cur.Object, "example.com:443", "spec", "hostPort")
	if _, err := v1.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update at v1: %v", err)
	}
	ev = <-w.ResultChan()
	if ev.Type != watch.Modified {
		t.Fatalf("watch at v2: second event %v %v", ev.Type, ev.Object)
	}
	wantV2("watch MODIFIED at v2", ev.Object.(*unstructured.Unstructured), "example.com", "443")

	// Written at v2: stored at v1.
	b, err := v2.Create(ctx, address("v2", "b", map[string]any{"host": "10.0.0.1", "port": "53"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create at v2: %v", err)
	}
	wantV2("create at v2 (answer)", b, "10.0.0.1", "53")
	kv, err := ts.store.Get(ctx, "/registry/"+addressGroup+"/addresses/default/b")
	if err != nil {
		t.Fatalf("stored b: %v", err)
	}
	var stored map[string]any
	if err := json.Unmarshal(kv.Value, &stored); err != nil {
		t.Fatal(err)
	}
	if stored["apiVersion"] != addressGroup+"/v1" || specOf(&unstructured.Unstructured{Object: stored})["hostPort"] != "10.0.0.1:53" {
		t.Errorf("stored b = %s, want apiVersion %s/v1 and spec.hostPort 10.0.0.1:53", kv.Value, addressGroup)
	}
	b1, err := v1.Get(ctx, "b", metav1.GetOptions{})
	if err != nil || specOf(b1)["hostPort"] != "10.0.0.1:53" {
		t.Errorf("get b at v1: %v %v", b1, err)
	}
	// An update at v2 round-trips.
	_ = unstructured.SetNestedField(b.Object, "54", "spec", "port")
	if b, err = v2.Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update at v2: %v", err)
	}
	wantV2("update at v2", b, "10.0.0.1", "54")

	// A list converts its page in one review (b and a stored at v1).
	if list, err = v2.List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 2 {
		t.Fatalf("list of two at v2: %v, %v", list, err)
	}
	if n := counts.largest.Load(); n != 2 {
		t.Errorf("a list of two at v2: the largest ConversionReview held %d objects, want 2", n)
	}

	// The storage version moves to v2: objects stored at v1 and at v2 are both read at
	// either version, converted.
	ax := apiextensionsclient.NewForConfigOrDie(ts.config)
	crd, err := ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "addresses."+addressGroup, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setStorage(crd, "v2")
	if _, err := ax.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("moving the storage version to v2: %v", err)
	}
	eventually(t, "objects stored at v2", func() bool {
		_ = v1.Delete(ctx, "d", metav1.DeleteOptions{})
		if _, err := v1.Create(ctx, address("v1", "d", map[string]any{"hostPort": "d:1"}), metav1.CreateOptions{}); err != nil {
			return false
		}
		return storedVersion(ctx, ts, "d") == addressGroup+"/v2"
	})
	all, err := v1.List(ctx, metav1.ListOptions{})
	if err != nil || len(all.Items) != 3 {
		t.Fatalf("list of objects stored at v1 and v2, at v1: %v %v", all, err)
	}
	for _, it := range all.Items {
		if it.GetAPIVersion() != addressGroup+"/v1" || specOf(&it)["hostPort"] == nil {
			t.Errorf("list at v1 after the storage version moved: %v", it.Object)
		}
	}
	if all, err = v2.List(ctx, metav1.ListOptions{}); err != nil || len(all.Items) != 3 {
		t.Fatalf("list of objects stored at v1 and v2, at v2: %v %v", all, err)
	}
	for _, it := range all.Items {
		if it.GetAPIVersion() != addressGroup+"/v2" || specOf(&it)["host"] == nil {
			t.Errorf("list at v2 after the storage version moved: %v", it.Object)
		}
	}
	crd, err = ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "addresses."+addressGroup, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setStorage(crd, "v1")
	if _, err := ax.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("moving the storage version back to v1: %v", err)
	}
	eventually(t, "objects stored at v1 again", func() bool {
		_ = v1.Delete(ctx, "e", metav1.DeleteOptions{})
		if _, err := v1.Create(ctx, address("v1", "e", map[string]any{"hostPort": "e:1"}), metav1.CreateOptions{}); err != nil {
			return false
		}
		return storedVersion(ctx, ts, "e") == addressGroup+"/v1"
	})

	// The webhook is down: reads and writes that need it fail with 500, nothing is stored, and
	// reads at the storage version still work.
	hook.Close()
	_, err = v2.Get(ctx, "a", metav1.GetOptions{})
	wantFailed := func(what string, err error) {
		t.Helper()
		if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "conversion webhook for "+addressGroup+"/v1, Kind=Address failed") {
			t.Errorf("%s with the webhook down: err = %v, want 500 conversion webhook for %s/v1, Kind=Address failed", what, err, addressGroup)
		}
	}
	wantFailed("get at v2", err)
	_, err = v2.List(ctx, metav1.ListOptions{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "conversion webhook for "+addressGroup+"/v2, Kind=AddressList failed") {
		t.Errorf("list at v2 with the webhook down: err = %v, want 500 conversion webhook for %s/v2, Kind=AddressList failed", err, addressGroup)
	}
	_, err = v2.Create(ctx, address("v2", "c", map[string]any{"host": "h", "port": "1"}), metav1.CreateOptions{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "conversion webhook for "+addressGroup+"/v2, Kind=Address failed") {
		t.Errorf("create at v2 with the webhook down: err = %v, want 500", err)
	}
	if _, err := ts.store.Get(ctx, "/registry/"+addressGroup+"/addresses/default/c"); !apierrors.IsNotFound(err) {
		t.Errorf("create at v2 with the webhook down stored c (err %v)", err)
	}
	if a, err := v1.Get(ctx, "a", metav1.GetOptions{}); err != nil || specOf(a)["hostPort"] != "example.com:443" {
		t.Errorf("get at v1 with the webhook down: %v %v", a, err)
	}
}

func runtimeRaw(b []byte) runtime.RawExtension { return runtime.RawExtension{Raw: b} }

// setStorage makes version the storage version of crd.
func setStorage(crd *apiextensionsv1.CustomResourceDefinition, version string) {
	for i := range crd.Spec.Versions {
		crd.Spec.Versions[i].Storage = crd.Spec.Versions[i].Name == version
	}
}

// storedVersion returns the apiVersion an Address is stored at ("" when it is not stored).
func storedVersion(ctx context.Context, ts *testServer, name string) string {
	kv, err := ts.store.Get(ctx, "/registry/"+addressGroup+"/addresses/default/"+name)
	if err != nil {
		return ""
	}
	var tm metav1.TypeMeta
	if json.Unmarshal(kv.Value, &tm) != nil {
		return ""
	}
	return tm.APIVersion
}

// resolverFunc is a webhook ServiceResolver.
type resolverFunc func(namespace, name string, port int32) (*url.URL, error)

func (f resolverFunc) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return f(namespace, name, port)
}

// TestCRDConversionWebhookService: a clientConfig.service is resolved by the server's
// resolver (Config.ConversionWebhooks) and the webhook's certificate is verified for
// NAME.NAMESPACE.svc against the caBundle.
func TestCRDConversionWebhookService(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hook.hooks.svc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, DNSNames: []string{"hook.hooks.svc"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	plain, counts := conversionWebhook(t)
	hook := httptest.NewUnstartedServer(plain.Config.Handler)
	hook.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	hook.StartTLS()
	t.Cleanup(hook.Close)
	hookURL, _ := url.Parse(hook.URL)

	var resolved atomic.Value
	ts := newTestServer(t, func(c *apiserver.Config) {
		c.ConversionWebhooks.ServiceResolver = resolverFunc(func(namespace, name string, port int32) (*url.URL, error) {
			resolved.Store(fmt.Sprintf("%s/%s:%d", namespace, name, port))
			return &url.URL{Scheme: "https", Host: hookURL.Host}, nil
		})
	})
	ctx := ctxT(t)
	crd := addressCRD("", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	crd.Spec.Conversion.Webhook.ClientConfig.URL = nil
	crd.Spec.Conversion.Webhook.ClientConfig.Service = &apiextensionsv1.ServiceReference{Namespace: "hooks", Name: "hook", Path: ptr.To("/convert"), Port: ptr.To[int32](8443)}
	establish(t, ctx, ts, crd)
	dyn := dynamic.NewForConfigOrDie(ts.config)
	v2 := dyn.Resource(schema.GroupVersionResource{Group: addressGroup, Version: "v2", Resource: "addresses"}).Namespace("default")
	var created *unstructured.Unstructured
	eventually(t, "addresses served", func() bool {
		created, err = v2.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": addressGroup + "/v2", "kind": "Address",
			"metadata": map[string]any{"name": "s"}, "spec": map[string]any{"host": "h", "port": "2"},
		}}, metav1.CreateOptions{})
		return err == nil
	})
	if got := storedVersion(ctx, ts, "s"); got != addressGroup+"/v1" {
		t.Errorf("stored at %q, want %s/v1", got, addressGroup)
	}
	if r, _ := resolved.Load().(string); r != "hooks/hook:8443" {
		t.Errorf("resolved %q, want hooks/hook:8443", r)
	}
	if counts.converted.Load() == 0 {
		t.Error("the webhook converted nothing")
	}
	if s, _, _ := unstructured.NestedString(created.Object, "spec", "host"); s != "h" {
		t.Errorf("created at v2: %v", created.Object)
	}
}
