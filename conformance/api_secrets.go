package conformance

import (
	"context"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Sources of the Secret, ConfigMap and ServiceAccount behaviours.
const (
	srcSecrets       = "Kubernetes: Secrets (kubernetes.io/docs/concepts/configuration/secret)"
	srcSecretTypes   = "Kubernetes: Secrets, types of Secret (kubernetes.io/docs/concepts/configuration/secret/#secret-types)"
	srcImmutable     = "Kubernetes: immutable Secrets and ConfigMaps (kubernetes.io/docs/concepts/configuration/secret/#secret-immutable)"
	srcSecretsAPI    = "Kubernetes Secret API validation (pkg/apis/core/validation ValidateSecret, ValidateSecretUpdate)"
	srcServiceAccts  = "Kubernetes: Service Accounts (kubernetes.io/docs/concepts/security/service-accounts)"
	secretTypeCustom = corev1.SecretType("example.com/conformance")
)

// apiSecretSpecs are the API specs of Secrets, immutable ConfigMaps and ServiceAccounts.
func apiSecretSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.secrets.default-type", "a Secret created without a type MUST get type Opaque", srcSecrets), specSecretDefaultType},
		{api("api.secrets.stringdata-merged", "a Secret written with stringData, on create and on patch, MUST have it merged into data (a stringData key winning over the same data key) and MUST NOT return stringData", srcSecrets), specSecretStringData},
		{api("api.secrets.type-immutable", "an update that changes a Secret's type MUST be rejected with 422 naming type, and change nothing", srcSecretsAPI), specSecretTypeImmutable},
		{api("api.secrets.type-required-keys", "a kubernetes.io/tls Secret without tls.key, a kubernetes.io/dockerconfigjson Secret without .dockerconfigjson and a kubernetes.io/service-account-token Secret without the kubernetes.io/service-account.name annotation MUST each be rejected with 422 naming what is missing, and store nothing", srcSecretTypes), specSecretRequiredKeys},
		{api("api.secrets.invalid-key", "a Secret whose data key is not a valid config key (letters, digits, '-', '_', '.') MUST be rejected with 422 naming data[<key>]", srcSecretsAPI), specSecretInvalidKey},
		{api("api.secrets.immutable", "a Secret marked immutable MUST reject changes to its data (also through stringData) and un-setting immutable with 422, and MUST still accept label changes", srcImmutable), specSecretImmutable},
		{api("api.configmaps.immutable", "a ConfigMap marked immutable MUST reject changes to its data and un-setting immutable with 422, and MUST still accept label changes", srcImmutable), specConfigMapImmutable},
		{api("api.secrets.field-selector-type", "a Secret list with the field selector type=<type> MUST return exactly the Secrets of that type", srcAPIConcepts), specSecretFieldSelector},
		{api("api.serviceaccounts.served", "ServiceAccounts MUST be served as namespaced core/v1 resources with the short name sa, keeping their secrets and imagePullSecrets", srcServiceAccts), specServiceAccountsServed},
	}
}

func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// expectSecretData asserts that s holds exactly want in data and no stringData.
func expectSecretData(g gomega.Gomega, s *corev1.Secret, what string, want map[string]string) {
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	g.ExpectWithOffset(1, got).To(gomega.Equal(want), "%s: data", what)
	g.ExpectWithOffset(1, s.StringData).To(gomega.BeEmpty(), "%s: stringData must never be returned", what)
}

func specSecretDefaultType(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	created, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, secret("untyped", map[string]string{"a": "b"}), metav1.CreateOptions{})
	ok(g, err, "creating a Secret without a type")
	g.Expect(created.Type).To(gomega.Equal(corev1.SecretTypeOpaque), "the created Secret's type")
	got, err := e.client.CoreV1().Secrets(e.ns).Get(ctx, "untyped", metav1.GetOptions{})
	ok(g, err, "reading the Secret")
	g.Expect(got.Type).To(gomega.Equal(corev1.SecretTypeOpaque), "the stored Secret's type")
}

func specSecretStringData(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	secrets := e.client.CoreV1().Secrets(e.ns)
	s := secret("merged", map[string]string{"user": "admin", "keep": "1"})
	s.StringData = map[string]string{"user": "root", "pass": "pw"}
	created, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	ok(g, err, "creating a Secret with data and stringData")
	want := map[string]string{"user": "root", "pass": "pw", "keep": "1"}
	expectSecretData(g, created, "the create's answer", want)
	got, err := secrets.Get(ctx, "merged", metav1.GetOptions{})
	ok(g, err, "reading the Secret")
	expectSecretData(g, got, "the stored Secret", want)

	patched, err := secrets.Patch(ctx, "merged", types.MergePatchType, []byte(`{"stringData":{"pass":"new","extra":"x"}}`), metav1.PatchOptions{})
	ok(g, err, "patching stringData")
	want = map[string]string{"user": "root", "pass": "new", "keep": "1", "extra": "x"}
	expectSecretData(g, patched, "the patch's answer", want)
	got, err = secrets.Get(ctx, "merged", metav1.GetOptions{})
	ok(g, err, "reading the patched Secret")
	expectSecretData(g, got, "the patched Secret", want)
}

func specSecretTypeImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	secrets := e.client.CoreV1().Secrets(e.ns)
	s := secret("typed", map[string]string{"a": "b"})
	s.Type = secretTypeCustom
	created, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	ok(g, err, "creating a Secret of a custom type")
	changed := created.DeepCopy()
	changed.Type = corev1.SecretTypeOpaque
	_, err = secrets.Update(ctx, changed, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing the Secret's type", "type")
	got, err := secrets.Get(ctx, "typed", metav1.GetOptions{})
	ok(g, err, "reading the Secret")
	g.Expect(got.Type).To(gomega.Equal(secretTypeCustom), "a rejected update must change nothing")
}

func specSecretRequiredKeys(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	secrets := e.client.CoreV1().Secrets(e.ns)
	cases := []struct {
		secret *corev1.Secret
		path   string
	}{
		{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls-no-key"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: []byte("cert")}}, "data[tls.key]"},
		{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "docker-no-config"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{"config.json": []byte("{}")}}, "data[.dockerconfigjson]"},
		{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token-no-account"}, Type: corev1.SecretTypeServiceAccountToken},
			"metadata.annotations[kubernetes.io/service-account.name]"},
	}
	for _, c := range cases {
		_, err := secrets.Create(ctx, c.secret, metav1.CreateOptions{})
		expectInvalid(g, err, "creating "+string(c.secret.Type)+" Secret "+c.secret.Name, c.path)
		_, err = secrets.Get(ctx, c.secret.Name, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected Secret %s must not be stored (Get returned %v)", c.secret.Name, err)
	}
	fine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls-complete"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: []byte("cert"), corev1.TLSPrivateKeyKey: []byte("key")}}
	_, err := secrets.Create(ctx, fine, metav1.CreateOptions{})
	ok(g, err, "creating a complete kubernetes.io/tls Secret")
}

func specSecretInvalidKey(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, secret("bad-key", map[string]string{"a/b": "x"}), metav1.CreateOptions{})
	expectInvalid(g, err, "creating a Secret with the data key a/b", "data[a/b]")
	_, err = e.client.CoreV1().Secrets(e.ns).Get(ctx, "bad-key", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected Secret must not be stored (Get returned %v)", err)
}

func specSecretImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	secrets := e.client.CoreV1().Secrets(e.ns)
	s := secret("frozen", map[string]string{"a": "1"})
	s.Immutable = ptr.To(true)
	created, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	ok(g, err, "creating an immutable Secret")

	changed := created.DeepCopy()
	changed.Data["a"] = []byte("2")
	_, err = secrets.Update(ctx, changed, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing the data of an immutable Secret", "data")
	_, err = secrets.Patch(ctx, "frozen", types.MergePatchType, []byte(`{"stringData":{"b":"new"}}`), metav1.PatchOptions{})
	expectInvalid(g, err, "adding a key through stringData to an immutable Secret", "data")
	_, err = secrets.Patch(ctx, "frozen", types.MergePatchType, []byte(`{"immutable":false}`), metav1.PatchOptions{})
	expectInvalid(g, err, "un-setting immutable", "immutable")

	relabelled, err := secrets.Patch(ctx, "frozen", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"db"}}}`), metav1.PatchOptions{})
	ok(g, err, "relabelling an immutable Secret")
	g.Expect(relabelled.Labels).To(gomega.HaveKeyWithValue("tier", "db"))
	got, err := secrets.Get(ctx, "frozen", metav1.GetOptions{})
	ok(g, err, "reading the Secret")
	expectSecretData(g, got, "the immutable Secret", map[string]string{"a": "1"})
	g.Expect(got.Immutable).To(gomega.HaveValue(gomega.BeTrue()), "the Secret stays immutable")
}

func specConfigMapImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	created, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "frozen"},
		Data: map[string]string{"a": "1"}, Immutable: ptr.To(true)}, metav1.CreateOptions{})
	ok(g, err, "creating an immutable ConfigMap")
	changed := created.DeepCopy()
	changed.Data["a"] = "2"
	_, err = cms.Update(ctx, changed, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing the data of an immutable ConfigMap", "data")
	_, err = cms.Patch(ctx, "frozen", types.MergePatchType, []byte(`{"immutable":null}`), metav1.PatchOptions{})
	expectInvalid(g, err, "un-setting immutable", "immutable")
	_, err = cms.Patch(ctx, "frozen", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"web"}}}`), metav1.PatchOptions{})
	ok(g, err, "relabelling an immutable ConfigMap")
	got, err := cms.Get(ctx, "frozen", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	g.Expect(got.Data).To(gomega.Equal(map[string]string{"a": "1"}), "a rejected update must change nothing")
	g.Expect(got.Immutable).To(gomega.HaveValue(gomega.BeTrue()), "the ConfigMap stays immutable")
}

func specSecretFieldSelector(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	secrets := e.client.CoreV1().Secrets(e.ns)
	for _, name := range []string{"custom-a", "custom-b"} {
		s := secret(name, map[string]string{"k": "v"})
		s.Type = secretTypeCustom
		_, err := secrets.Create(ctx, s, metav1.CreateOptions{})
		ok(g, err, "creating Secret "+name)
	}
	_, err := secrets.Create(ctx, secret("opaque", map[string]string{"k": "v"}), metav1.CreateOptions{})
	ok(g, err, "creating an Opaque Secret")
	list, err := secrets.List(ctx, metav1.ListOptions{FieldSelector: "type=" + string(secretTypeCustom)})
	ok(g, err, "listing by type")
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	g.Expect(names).To(gomega.ConsistOf("custom-a", "custom-b"), "Secrets of type %s", secretTypeCustom)
	list, err = secrets.List(ctx, metav1.ListOptions{FieldSelector: "type!=" + string(secretTypeCustom) + ",metadata.name=opaque"})
	ok(g, err, "listing by type!=")
	g.Expect(list.Items).To(gomega.HaveLen(1), "the Opaque Secret")
}

func specServiceAccountsServed(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rl, err := e.client.Discovery().ServerResourcesForGroupVersion("v1")
	ok(g, err, "discovery of v1")
	var found *metav1.APIResource
	for i := range rl.APIResources {
		if rl.APIResources[i].Name == "serviceaccounts" {
			found = &rl.APIResources[i]
		}
	}
	g.Expect(found).NotTo(gomega.BeNil(), "v1 discovery must list serviceaccounts")
	g.Expect(found.Namespaced).To(gomega.BeTrue(), "serviceaccounts are namespaced")
	g.Expect(found.Kind).To(gomega.Equal("ServiceAccount"))
	g.Expect(found.ShortNames).To(gomega.ContainElement("sa"))

	sas := e.client.CoreV1().ServiceAccounts(e.ns)
	_, err = sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"},
		Secrets:          []corev1.ObjectReference{{Name: "builder-secret"}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}}}, metav1.CreateOptions{})
	ok(g, err, "creating a ServiceAccount")
	got, err := sas.Get(ctx, "builder", metav1.GetOptions{})
	ok(g, err, "reading the ServiceAccount")
	g.Expect(got.Secrets).To(gomega.HaveLen(1))
	g.Expect(got.Secrets[0].Name).To(gomega.Equal("builder-secret"))
	g.Expect(got.ImagePullSecrets).To(gomega.Equal([]corev1.LocalObjectReference{{Name: "registry"}}))
	_, err = sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "Not_A_Name"}}, metav1.CreateOptions{})
	expectInvalid(g, err, "creating a ServiceAccount with an invalid name", "metadata.name")
	ok(g, sas.Delete(ctx, "builder", metav1.DeleteOptions{}), "deleting the ServiceAccount")
	_, err = sas.Get(ctx, "builder", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a deleted ServiceAccount must be gone (Get returned %v)", err)
}
