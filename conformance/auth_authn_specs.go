package conformance

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// Sources of the authentication behaviours.
const (
	srcAuthn          = "Kubernetes: Authenticating (kubernetes.io/docs/reference/access-authn-authz/authentication)"
	srcAnonymous      = "Kubernetes: Authenticating, anonymous requests and their configurable endpoints (kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests)"
	srcPublicInfo     = "Kubernetes: RBAC default roles, system:public-info-viewer (kubernetes.io/docs/reference/access-authn-authz/rbac/#discovery-roles)"
	srcControlledTLS  = "Kubernetes: Controlling access to the Kubernetes API, transport security (kubernetes.io/docs/concepts/security/controlling-access/#transport-security)"
	srcX509ClientCert = "Kubernetes: Authenticating, X509 client certificates (kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates)"
)

// authnSpecs are the auth behaviours of anonymous access, client certificates, TLS (the PKI and authentication work).
func authnSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.authn.anonymous-resources-rejected", "an anonymous request for a resource (listing Pods, creating a ConfigMap) MUST be rejected with 401 or 403, returning and storing nothing", srcAnonymous), specAnonymousRejected},
		{auth("auth.authn.public-info-anonymous", "the health and version endpoints (/healthz, /livez, /readyz, /version) MUST answer an anonymous client with 200", srcPublicInfo), specPublicInfoAnonymous},
		{auth("auth.authn.no-plain-http", "the API MUST NOT be served over plain HTTP on its address: a plain-HTTP request there MUST NOT get a 2xx answer", srcControlledTLS), specNoPlainHTTP},
		{auth("auth.authn.invalid-token-401", "a request with a bearer token no authenticator accepts MUST be rejected with 401, also on the endpoints anonymous clients may read, and MUST NOT be treated as anonymous", srcAuthn), specInvalidToken},
		{auth("auth.authn.foreign-client-cert", "a client certificate not signed by the cluster's CA MUST NOT authenticate, even naming system:masters: its requests MUST be refused (401 or the TLS handshake) and store nothing", srcX509ClientCert), specForeignClientCert},
	}
}

// clientAs returns a client for cfg, and the config itself.
func clientAs(g gomega.Gomega, cfg *rest.Config, what string) kubernetes.Interface {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	client, err := kubernetes.NewForConfig(cfg)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "building a client %s", what)
	return client
}

// expectDenied asserts that err is a 401 or a 403.
func expectDenied(g gomega.Gomega, err error, what string) {
	g.ExpectWithOffset(1, apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err)).To(gomega.BeTrue(), "%s: expected 401 Unauthorized or 403 Forbidden, got %v", what, err)
}

// expectNoConfigMap asserts, as the admin, that the ConfigMap was not stored.
func expectNoConfigMap(ctx context.Context, g gomega.Gomega, e *authEnv, name, what string) {
	_, err := e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, name, metav1.GetOptions{})
	g.ExpectWithOffset(1, apierrors.IsNotFound(err)).To(gomega.BeTrue(), "%s: the ConfigMap %s must not exist, reading it got %v", what, name, err)
}

func specAnonymousRejected(ctx context.Context, g gomega.Gomega, e *authEnv) {
	anon := clientAs(g, rest.AnonymousClientConfig(e.server.Admin), "without credentials")
	_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, pod("visible"), metav1.CreateOptions{})
	ok(g, err, "creating a Pod as the admin")
	list, err := anon.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	expectDenied(g, err, "an anonymous list of Pods")
	if list != nil {
		g.Expect(list.Items).To(gomega.BeEmpty(), "an anonymous list of Pods must return no Pod")
	}
	_, err = anon.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	expectDenied(g, err, "an anonymous list of Pods in every namespace")
	_, err = anon.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "anonymous"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	expectDenied(g, err, "an anonymous create of a ConfigMap")
	expectNoConfigMap(ctx, g, e, "anonymous", "after an anonymous create")
}

func specPublicInfoAnonymous(ctx context.Context, g gomega.Gomega, e *authEnv) {
	anon := clientAs(g, rest.AnonymousClientConfig(e.server.Admin), "without credentials")
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/version"} {
		var code int
		body, err := anon.Discovery().RESTClient().Get().AbsPath(path).Do(ctx).StatusCode(&code).Raw()
		g.Expect(err).NotTo(gomega.HaveOccurred(), "an anonymous GET %s (status %d)", path, code)
		g.Expect(code).To(gomega.Equal(http.StatusOK), "an anonymous GET %s: %s", path, body)
	}
}

func specNoPlainHTTP(ctx context.Context, g gomega.Gomega, e *authEnv) {
	base, _, err := rest.DefaultServerUrlFor(e.server.Admin)
	ok(g, err, "the admin's server URL")
	g.Expect(base.Scheme).To(gomega.Equal("https"), "the admin reaches the API at %s: not over TLS", base)
	plain := *base
	plain.Scheme = "http"
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/api/v1/namespaces/" + e.ns + "/configmaps", "/version"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(plain.String(), "/")+path, nil)
		ok(g, err, "building a plain-HTTP request")
		resp, err := client.Do(req)
		if err != nil {
			continue // refused, reset or not HTTP at all: not served
		}
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode/100).NotTo(gomega.Equal(2), "a plain-HTTP GET %s%s was answered %s", plain.Host, path, resp.Status)
	}
}

func specInvalidToken(ctx context.Context, g gomega.Gomega, e *authEnv) {
	for _, token := range []string{
		"clusterkit-conformance-not-a-token",
		// A JWT in form, signed by nobody.
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImNvbmZvcm1hbmNlIn0.eyJpc3MiOiJodHRwczovL2NvbmZvcm1hbmNlLmludmFsaWQiLCJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpkZWZhdWx0In0.c2lnbmF0dXJl",
	} {
		cfg := rest.AnonymousClientConfig(e.server.Admin)
		cfg.BearerToken = token
		client := clientAs(g, cfg, "with an invalid token")
		for _, path := range []string{"/version", "/healthz"} {
			var code int
			_, _ = client.Discovery().RESTClient().Get().AbsPath(path).Do(ctx).StatusCode(&code).Raw()
			g.Expect(code).To(gomega.Equal(http.StatusUnauthorized), "GET %s with an invalid bearer token: status", path)
		}
		_, err := client.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
		g.Expect(apierrors.IsUnauthorized(err)).To(gomega.BeTrue(), "listing ConfigMaps with an invalid bearer token: expected 401, got %v", err)
		_, err = client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad-token"}}, metav1.CreateOptions{})
		g.Expect(apierrors.IsUnauthorized(err)).To(gomega.BeTrue(), "creating a ConfigMap with an invalid bearer token: expected 401, got %v", err)
	}
	expectNoConfigMap(ctx, g, e, "bad-token", "after creates with invalid tokens")
}

// intruder is the user of the foreign client certificate.
const intruder = "clusterkit-conformance-intruder"

func specForeignClientCert(ctx context.Context, g gomega.Gomega, e *authEnv) {
	certPEM, keyPEM, err := foreignClientCert(intruder, "system:masters")
	ok(g, err, "making a throwaway CA and a client certificate")
	cfg := rest.AnonymousClientConfig(e.server.Admin)
	cfg.CertData, cfg.KeyData = certPEM, keyPEM
	client := clientAs(g, cfg, "with a foreign client certificate")
	_, err = client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "foreign-cert"}}, metav1.CreateOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "a create with a client certificate of a foreign CA succeeded")
	if status, isStatus := err.(apierrors.APIStatus); isStatus {
		code := status.Status().Code
		g.Expect(code == http.StatusUnauthorized || code == http.StatusForbidden && !strings.Contains(err.Error(), intruder)).To(gomega.BeTrue(),
			"a create with a client certificate of a foreign CA: expected 401 (or a refused handshake), got %v", err)
	}
	_, err = client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "a list of Pods with a client certificate of a foreign CA succeeded")
	expectNoConfigMap(ctx, g, e, "foreign-cert", "after a create with a foreign client certificate")
}

// foreignClientCert makes a throwaway CA and a client certificate it signs for user in groups.
func foreignClientCert(user string, groups ...string) (certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ca, err := cert.NewSelfSignedCACert(cert.Config{CommonName: "clusterkit-conformance-foreign-ca"}, caKey)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: user, Organization: groups},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), crypto.Signer(caKey))
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if certPEM, err = cert.EncodeCertificates(leaf); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = keyutil.MarshalPrivateKeyToPEM(key); err != nil {
		return nil, nil, fmt.Errorf("encoding the key: %w", err)
	}
	return certPEM, keyPEM, nil
}
