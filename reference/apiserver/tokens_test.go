package apiserver_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	"k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
)

const testIssuer = "https://kubernetes.default.svc.cluster.local"

// withTokens closes the server to all but the static token adminToken and ServiceAccount tokens.
func withTokens(t *testing.T, adminToken string) option {
	return func(cfg *apiserver.Config) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		issuer, err := serviceaccount.NewIssuer(testIssuer, key)
		if err != nil {
			t.Fatal(err)
		}
		auds := authenticator.Audiences{testIssuer}
		sa, err := issuer.Authenticator(auds, apiserver.StoreTokenGetter(cfg.Store, cfg.Encryption))
		if err != nil {
			t.Fatal(err)
		}
		admin := tokenfile.New(map[string]*user.DefaultInfo{adminToken: {Name: "admin", Groups: []string{user.SystemPrivilegedGroup}}})
		cfg.Access = apiserver.Access{Authenticator: bearertoken.New(union.New(admin, sa)), APIAudiences: auds}
		cfg.ServiceAccountIssuer = issuer
	}
}

func TestKubectlCreateTokenAndWhoami(t *testing.T) {
	ts := newTestServer(t, withTokens(t, "admin-token"))
	k := newKubectl(t, ts)
	// kubectl sends bearer tokens only over TLS.
	tlsServer := httptest.NewTLSServer(ts.srv.Handler())
	t.Cleanup(tlsServer.Close)
	kc := apiserver.Kubeconfig(tlsServer.URL)
	kc.Clusters[apiserver.KubeconfigContext].InsecureSkipTLSVerify = true
	if err := apiserver.WriteKubeconfigFile(k.kubeconfig, kc); err != nil {
		t.Fatal(err)
	}
	k.mustRun("", "--token", "admin-token", "create", "serviceaccount", "robot")
	token := strings.TrimSpace(k.mustRun("", "--token", "admin-token", "create", "token", "robot", "--duration", "20m"))
	out := k.mustRun("", "--token", token, "auth", "whoami")
	if !strings.Contains(out, "system:serviceaccount:default:robot") || !strings.Contains(out, "system:serviceaccounts:default") {
		t.Fatalf("kubectl auth whoami with the token:\n%s", out)
	}
	if out, err := k.run("", "--token", "admin-token", "create", "token", "robot", "--duration", "5m"); err == nil || !strings.Contains(out, "spec.expirationSeconds") {
		t.Fatalf("a 5m token was not rejected naming spec.expirationSeconds: %v\n%s", err, out)
	}
	if out, err := k.run("", "--token", "bogus", "get", "pods"); err == nil || !strings.Contains(out, "provide credentials") {
		t.Fatalf("a bogus token was not rejected: %v\n%s", err, out)
	}
}

func TestTokenAPIsWithoutIssuer(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	_, err := ts.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("TokenRequest on a server without an issuer: %v, want 404", err)
	}
	rev, err := ts.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "x"}}, metav1.CreateOptions{})
	if err != nil || rev.Status.Authenticated {
		t.Errorf("TokenReview on an open server: %v %+v", err, rev)
	}
	if _, err := ts.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{}, metav1.CreateOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("TokenReview without a token: %v, want 400", err)
	}
	ssr, err := ts.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || ssr.Status.UserInfo.Username != "system:apiserver" {
		t.Errorf("SelfSubjectReview on an open server: %v %+v", err, ssr)
	}
	if _, err := ts.client.CoreV1().RESTClient().Get().AbsPath(serviceaccount.OpenIDConfigPath).DoRaw(ctx); !apierrors.IsNotFound(err) {
		t.Errorf("discovery without an issuer: %v, want 404", err)
	}
}

func TestTokenRequestAnswersWithTheRequestKind(t *testing.T) {
	ts := newTestServer(t, withTokens(t, "admin-token"))
	ctx := ctxT(t)
	cfg := rest.CopyConfig(ts.config)
	cfg.BearerToken = "admin-token"
	cfg.ContentType = "application/json"
	c := kubernetes.NewForConfigOrDie(cfg)
	raw, err := c.CoreV1().RESTClient().Post().AbsPath("/api/v1/namespaces/default/serviceaccounts/default/token").
		Body([]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`)).DoRaw(ctx)
	if !apierrors.IsNotFound(err) {
		// No ServiceAccount controller runs here: default does not exist yet.
		t.Fatalf("token of a missing ServiceAccount: %v %s", err, raw)
	}
	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err = c.CoreV1().RESTClient().Post().AbsPath("/api/v1/namespaces/default/serviceaccounts/default/token").
		Body([]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"audiences":["a","b"]}}`)).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind":"TokenRequest"`, `"apiVersion":"authentication.k8s.io/v1"`, `"name":"default"`, `"audiences":["a","b"]`, `"expirationSeconds":3600`, `"token":"ey`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the TokenRequest answer lacks %s: %s", want, raw)
		}
	}
}

// denyTokens is a validating admission plugin refusing TokenRequests, recording what it saw.
type denyTokens struct{ seen []string }

func (d *denyTokens) Handles(admission.Operation) bool { return true }

func (d *denyTokens) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	d.seen = append(d.seen, fmt.Sprintf("%s %s/%s %s %s/%s", a.GetOperation(), a.GetResource().Resource, a.GetSubresource(), a.GetKind().Kind, a.GetNamespace(), a.GetName()))
	if a.GetSubresource() == "token" {
		if _, ok := a.GetObject().(*authenticationv1.TokenRequest); ok {
			return admission.NewForbidden(a, errors.New("no tokens here"))
		}
	}
	return nil
}

func TestTokenRequestGoesThroughAdmission(t *testing.T) {
	plugin := &denyTokens{}
	ts := newTestServer(t, withTokens(t, "admin-token"), func(cfg *apiserver.Config) { cfg.Admission = plugin })
	ctx := ctxT(t)
	cfg := rest.CopyConfig(ts.config)
	cfg.BearerToken = "admin-token"
	c := kubernetes.NewForConfigOrDie(cfg)
	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("a TokenRequest refused by admission: %v, want 403", err)
	}
	if want := "CREATE serviceaccounts/token TokenRequest default/robot"; !slices.Contains(plugin.seen, want) {
		t.Errorf("admission saw %q, want %q among them", plugin.seen, want)
	}
}
