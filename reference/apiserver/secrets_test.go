package apiserver_test

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestSecretWritePath(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	secrets := ts.client.CoreV1().Secrets("default")

	created, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s"},
		Data:       map[string][]byte{"user": []byte("admin"), "keep": []byte("1")},
		StringData: map[string]string{"user": "root", "pass": "pw"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Type != corev1.SecretTypeOpaque {
		t.Errorf("type = %q, want Opaque", created.Type)
	}
	if created.StringData != nil {
		t.Errorf("stringData returned: %v", created.StringData)
	}
	want := map[string]string{"user": "root", "pass": "pw", "keep": "1"}
	for k, v := range want {
		if string(created.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, created.Data[k], v)
		}
	}
	kv, err := ts.store.Get(ctx, "/registry/secrets/default/s")
	if err != nil {
		t.Fatalf("stored key: %v", err)
	}
	if strings.Contains(string(kv.Value), "stringData") {
		t.Errorf("stringData stored: %s", kv.Value)
	}

	// A merge patch carrying stringData lands in data as well.
	patched, err := secrets.Patch(ctx, "s", types.MergePatchType, []byte(`{"stringData":{"pass":"new"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	if string(patched.Data["pass"]) != "new" || patched.StringData != nil {
		t.Errorf("patched: data[pass]=%q stringData=%v", patched.Data["pass"], patched.StringData)
	}

	// type is immutable.
	changed := patched.DeepCopy()
	changed.Type = "example.com/other"
	_, err = secrets.Update(ctx, changed, metav1.UpdateOptions{})
	assertInvalidField(t, err, "type")

	// An immutable secret keeps its data and stays immutable.
	patched.Immutable = ptr.To(true)
	frozen, err := secrets.Update(ctx, patched, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("setting immutable: %v", err)
	}
	edit := frozen.DeepCopy()
	edit.StringData = map[string]string{"pass": "other"}
	_, err = secrets.Update(ctx, edit, metav1.UpdateOptions{})
	assertInvalidField(t, err, "data")
	_, err = secrets.Patch(ctx, "s", types.MergePatchType, []byte(`{"immutable":null}`), metav1.PatchOptions{})
	assertInvalidField(t, err, "immutable")
	relabel := frozen.DeepCopy()
	relabel.Labels = map[string]string{"a": "b"}
	if _, err := secrets.Update(ctx, relabel, metav1.UpdateOptions{}); err != nil {
		t.Errorf("relabelling an immutable secret: %v", err)
	}

	// Type-specific keys.
	_, err = secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls"}, Type: corev1.SecretTypeTLS,
		StringData: map[string]string{corev1.TLSCertKey: "c"}}, metav1.CreateOptions{})
	assertInvalidField(t, err, "data[tls.key]")
	if _, err := secrets.Get(ctx, "tls", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("rejected secret stored: %v", err)
	}

	// Field selector on type.
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls"}, Type: corev1.SecretTypeTLS,
		StringData: map[string]string{corev1.TLSCertKey: "c", corev1.TLSPrivateKeyKey: "k"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create tls: %v", err)
	}
	list, err := secrets.List(ctx, metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeTLS)})
	if err != nil {
		t.Fatalf("list by type: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "tls" {
		t.Errorf("list by type: %d items", len(list.Items))
	}
}

func TestServiceAccountCRUD(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	sas := ts.client.CoreV1().ServiceAccounts("default")
	sa, err := sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if sa.UID == "" || len(sa.ImagePullSecrets) != 1 {
		t.Errorf("created: %+v", sa)
	}
	_, err = sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "Not_Valid"}}, metav1.CreateOptions{})
	assertInvalidField(t, err, "metadata.name")
	patched, err := sas.Patch(ctx, "builder", types.StrategicMergePatchType,
		[]byte(`{"secrets":[{"name":"a"}]}`), metav1.PatchOptions{})
	if err != nil || len(patched.Secrets) != 1 {
		t.Fatalf("patch: %v %+v", err, patched)
	}
	if err := sas.Delete(ctx, "builder", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

func TestSecretAndServiceAccountDiscovery(t *testing.T) {
	ts := newTestServer(t)
	rl, err := ts.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]metav1.APIResource{}
	for _, r := range rl.APIResources {
		found[r.Name] = r
	}
	if r, ok := found["secrets"]; !ok || !r.Namespaced || r.Kind != "Secret" {
		t.Errorf("secrets: %+v", r)
	}
	if r, ok := found["serviceaccounts"]; !ok || r.Kind != "ServiceAccount" || len(r.ShortNames) != 1 || r.ShortNames[0] != "sa" {
		t.Errorf("serviceaccounts: %+v", r)
	}
	body, err := ts.client.Discovery().RESTClient().Get().AbsPath("/openapi/v3/api/v1").Do(ctxT(t)).Raw()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"io.k8s.api.core.v1.Secret", "io.k8s.api.core.v1.ServiceAccount"} {
		if _, ok := doc.Components.Schemas[m]; !ok {
			t.Errorf("OpenAPI v3 lacks %s", m)
		}
	}
}

const tlsSecretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: t
type: kubernetes.io/tls
stringData:
  tls.crt: cert
  tls.key: key
`

func TestKubectlSecretsAndServiceAccounts(t *testing.T) {
	ts := newTestServer(t)
	k := newKubectl(t, ts)
	k.mustRun("", "create", "secret", "generic", "s", "--from-literal=a=b", "--from-literal=c=d")
	k.mustRun(tlsSecretYAML, "apply", "-f", "-")
	k.mustRun("", "create", "serviceaccount", "bot")
	out := k.mustRun("", "get", "secrets,sa")
	for _, want := range []string{"TYPE", "DATA", "Opaque", "kubernetes.io/tls", "SECRETS", "serviceaccount/bot", "secret/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get secrets,sa lacks %q:\n%s", want, out)
		}
	}
	out = k.mustRun("", "get", "secret", "s", "-o", "jsonpath={.data.a}")
	if out != "Yg==" {
		t.Errorf("data.a = %q, want Yg== (b)", out)
	}
	out, err := k.run("", "create", "secret", "docker-registry", "d", "--docker-server=r", "--docker-username=u", "--docker-password=p", "--dry-run=server", "-o", "name")
	if err != nil || !strings.Contains(out, "secret/d") {
		t.Errorf("server dry-run docker-registry secret: %v\n%s", err, out)
	}
	out = k.mustRun(strings.Replace(tlsSecretYAML, "tls.key: key", "tls.key: other", 1), "apply", "-f", "-")
	if !strings.Contains(out, "configured") {
		t.Errorf("apply of changed stringData: %q", out)
	}
	out = k.mustRun("", "get", "secret", "t", "-o", "jsonpath={.data.tls\\.key}")
	if out != "b3RoZXI=" {
		t.Errorf("data[tls.key] after apply = %q, want b3RoZXI= (other)", out)
	}
	out = k.mustRun("", "describe", "sa", "bot")
	if !strings.Contains(out, "bot") {
		t.Errorf("describe sa:\n%s", out)
	}
}

// assertInvalidField fails unless err is a 422 Invalid naming path among its causes.
func assertInvalidField(t *testing.T, err error, path string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Errorf("want 422 Invalid naming %s, got %v", path, err)
		return
	}
	var fields []string
	if st, ok := err.(apierrors.APIStatus); ok && st.Status().Details != nil {
		for _, c := range st.Status().Details.Causes {
			if c.Field == path {
				return
			}
			fields = append(fields, c.Field)
		}
	}
	t.Errorf("422 names %v, not %s: %v", fields, path, err)
}
