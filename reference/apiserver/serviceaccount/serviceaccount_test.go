package serviceaccount_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
)

const iss = "https://kubernetes.default.svc.cluster.local"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func key(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	clock  *clock
	issuer *serviceaccount.Issuer
	client *fake.Clientset
	getter serviceaccount.Getter
	auth   *serviceaccount.Authenticator
	sa     *corev1.ServiceAccount
	pod    *corev1.Pod
	secret *corev1.Secret
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: time.Now()}}
	var err error
	f.issuer, err = serviceaccount.NewIssuer(iss, key(t), serviceaccount.WithClock(f.clock.now))
	if err != nil {
		t.Fatal(err)
	}
	f.sa = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "ns", UID: "sa-1"}}
	f.pod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "pod-1"}, Spec: corev1.PodSpec{ServiceAccountName: "robot", NodeName: "n1"}}
	f.secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "anchor", Namespace: "ns", UID: "secret-1"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-1"}}
	f.client = fake.NewClientset(f.sa, f.pod, f.secret, node)
	f.getter = serviceaccount.ClientGetter(f.client)
	f.auth, err = f.issuer.Authenticator(authenticator.Audiences{iss}, f.getter, serviceaccount.WithAuthenticatorClock(f.clock.now))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) request(t *testing.T, name string, spec authenticationv1.TokenRequestSpec, opts serviceaccount.RequestOptions) (*authenticationv1.TokenRequest, []string, error) {
	t.Helper()
	return f.issuer.CreateToken(t.Context(), f.getter, "ns", name, &authenticationv1.TokenRequest{Spec: spec}, opts, nil)
}

func (f *fixture) token(t *testing.T, spec authenticationv1.TokenRequestSpec) string {
	t.Helper()
	tr, _, err := f.request(t, "robot", spec, serviceaccount.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func segment(t *testing.T, token string, i int, into any) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatal(err)
	}
}

func TestTokenHasKubernetesClaims(t *testing.T) {
	f := newFixture(t)
	token := f.token(t, authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web", UID: "pod-1"}})
	var header map[string]any
	segment(t, token, 0, &header)
	if header["alg"] != "RS256" || header["kid"] != f.issuer.KeyID() {
		t.Errorf("header = %v, want alg RS256 and kid %s", header, f.issuer.KeyID())
	}
	var claims map[string]any
	segment(t, token, 1, &claims)
	if claims["iss"] != iss || claims["sub"] != "system:serviceaccount:ns:robot" {
		t.Errorf("iss/sub = %v/%v", claims["iss"], claims["sub"])
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != iss {
		t.Errorf("aud = %v, want [%s]", claims["aud"], iss)
	}
	exp, iat, nbf := claims["exp"].(float64), claims["iat"].(float64), claims["nbf"].(float64)
	if exp-iat != 3600 || nbf != iat {
		t.Errorf("exp-iat = %v, nbf = %v, iat = %v", exp-iat, nbf, iat)
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Error("no jti")
	}
	k, _ := json.Marshal(claims["kubernetes.io"])
	want := `{"namespace":"ns","node":{"name":"n1","uid":"node-1"},"pod":{"name":"web","uid":"pod-1"},"serviceaccount":{"name":"robot","uid":"sa-1"}}`
	if string(k) != want {
		t.Errorf("kubernetes.io = %s, want %s", k, want)
	}
	// The kid is the base64url SHA-256 of the PKIX public key (as upstream), and the JWKS holds it.
	d, err := f.issuer.Discovery()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, serviceaccount.JWKSPath, nil))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	if got := set.Key(f.issuer.KeyID()); len(got) != 1 || got[0].Algorithm != "RS256" || got[0].Use != "sig" || !got[0].IsPublic() {
		t.Errorf("jwks = %s", rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("jwks content type = %q", ct)
	}
	rec = httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, serviceaccount.OpenIDConfigPath, nil))
	wantCfg := `{"issuer":"` + iss + `","jwks_uri":"` + iss + `/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}`
	if rec.Body.String() != wantCfg {
		t.Errorf("openid-configuration = %s, want %s", rec.Body.String(), wantCfg)
	}
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	token := f.token(t, authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web"}})
	resp, ok, err := f.auth.AuthenticateToken(t.Context(), token)
	if !ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	u := resp.User
	if u.GetName() != "system:serviceaccount:ns:robot" || u.GetUID() != "sa-1" {
		t.Errorf("user = %s uid %s", u.GetName(), u.GetUID())
	}
	if g := u.GetGroups(); len(g) != 2 || g[0] != "system:serviceaccounts" || g[1] != "system:serviceaccounts:ns" {
		t.Errorf("groups = %v", g)
	}
	x := u.GetExtra()
	if x["authentication.kubernetes.io/pod-name"][0] != "web" || x["authentication.kubernetes.io/pod-uid"][0] != "pod-1" ||
		x["authentication.kubernetes.io/node-name"][0] != "n1" || !strings.HasPrefix(x["authentication.kubernetes.io/credential-id"][0], "JTI=") {
		t.Errorf("extra = %v", x)
	}
	if len(resp.Audiences) != 1 || resp.Audiences[0] != iss {
		t.Errorf("audiences = %v", resp.Audiences)
	}
}

func TestAuthenticateRejects(t *testing.T) {
	podBound := authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web"}}
	secretBound := authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "anchor"}}
	cases := []struct {
		name  string
		spec  authenticationv1.TokenRequestSpec
		after func(t *testing.T, f *fixture)
		ctx   func(context.Context) context.Context
	}{
		{"expired", authenticationv1.TokenRequestSpec{}, func(_ *testing.T, f *fixture) { f.clock.add(time.Hour + 2*time.Minute) }, nil},
		{"not yet valid", authenticationv1.TokenRequestSpec{}, func(_ *testing.T, f *fixture) { f.clock.add(-5 * time.Minute) }, nil},
		{"pod deleted", podBound, func(t *testing.T, f *fixture) {
			if err := f.client.CoreV1().Pods("ns").Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"pod re-created", podBound, func(t *testing.T, f *fixture) {
			p := f.pod.DeepCopy()
			p.UID = "pod-2"
			if _, err := f.client.CoreV1().Pods("ns").Update(t.Context(), p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"pod deleted long ago, awaiting removal", podBound, func(t *testing.T, f *fixture) {
			p := f.pod.DeepCopy()
			p.DeletionTimestamp = ptr.To(metav1.NewTime(f.clock.now().Add(-2 * time.Minute)))
			if _, err := f.client.CoreV1().Pods("ns").Update(t.Context(), p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"secret deleted", secretBound, func(t *testing.T, f *fixture) {
			if err := f.client.CoreV1().Secrets("ns").Delete(t.Context(), "anchor", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"serviceaccount deleted", authenticationv1.TokenRequestSpec{}, func(t *testing.T, f *fixture) {
			if err := f.client.CoreV1().ServiceAccounts("ns").Delete(t.Context(), "robot", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"serviceaccount re-created", authenticationv1.TokenRequestSpec{}, func(t *testing.T, f *fixture) {
			sa := f.sa.DeepCopy()
			sa.UID = "sa-2"
			if _, err := f.client.CoreV1().ServiceAccounts("ns").Update(t.Context(), sa, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"other audience", authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}, nil, nil},
		{"requested for another audience", authenticationv1.TokenRequestSpec{}, nil, func(ctx context.Context) context.Context {
			return authenticator.WithAudiences(ctx, authenticator.Audiences{"vault"})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			token := f.token(t, c.spec)
			if c.after != nil {
				c.after(t, f)
			}
			ctx := t.Context()
			if c.ctx != nil {
				ctx = c.ctx(ctx)
			}
			resp, ok, err := f.auth.AuthenticateToken(ctx, token)
			if ok || err == nil {
				t.Fatalf("accepted: ok=%v err=%v resp=%v", ok, err, resp)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

func TestAuthenticateLeavesForeignTokens(t *testing.T) {
	f := newFixture(t)
	other, err := serviceaccount.NewIssuer("https://other.example", key(t))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue(f.sa, []string{iss}, time.Hour, 0, serviceaccount.Binding{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"static-token", "a.b.c", foreign} {
		if _, ok, err := f.auth.AuthenticateToken(t.Context(), tok); ok || err != nil {
			t.Errorf("%q: ok=%v err=%v, want not recognised", tok, ok, err)
		}
	}
	// Our issuer, another key: recognised and rejected.
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := serviceaccount.NewIssuer(iss, k2)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := forged.Issue(f.sa, []string{iss}, time.Hour, 0, serviceaccount.Binding{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.auth.AuthenticateToken(t.Context(), tok); ok || err == nil {
		t.Errorf("a token signed by another key: ok=%v err=%v", ok, err)
	}
}

func TestCreateToken(t *testing.T) {
	f := newFixture(t)
	status := func(err error) int32 {
		if s, ok := err.(apierrors.APIStatus); ok {
			return s.Status().Code
		}
		return 0
	}
	cases := []struct {
		name string
		sa   string
		spec authenticationv1.TokenRequestSpec
		code int32
	}{
		{"missing serviceaccount", "ghost", authenticationv1.TokenRequestSpec{}, 404},
		{"too short", "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](599)}, 422},
		{"too long", "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](1<<32 + 1)}, 422},
		{"missing pod", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "ghost"}}, 404},
		{"pod uid", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web", UID: types.UID("other")}}, 409},
		{"secret uid", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "anchor", UID: types.UID("other")}}, 409},
		{"other kind", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "ConfigMap", APIVersion: "v1", Name: "x"}}, 400},
		{"other group", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "example.com/v1", Name: "web"}}, 400},
	}
	for _, c := range cases {
		_, _, err := f.request(t, c.sa, c.spec, serviceaccount.RequestOptions{})
		if status(err) != c.code {
			t.Errorf("%s: got %v (%d), want %d", c.name, err, status(err), c.code)
		}
	}
	_, _, err := f.request(t, "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](1)}, serviceaccount.RequestOptions{})
	if se, ok := err.(apierrors.APIStatus); !ok || len(se.Status().Details.Causes) != 1 || se.Status().Details.Causes[0].Field != "spec.expirationSeconds" {
		t.Errorf("too short: %v", err)
	}

	// A pod of another ServiceAccount cannot carry this one's token.
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", UID: "pod-9"}, Spec: corev1.PodSpec{ServiceAccountName: "default"}}
	if _, err := f.client.CoreV1().Pods("ns").Create(t.Context(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.request(t, "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "other"}}, serviceaccount.RequestOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("a pod of another ServiceAccount: %v", err)
	}

	// Defaults, cap and extension.
	tr, warnings, err := f.request(t, "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](7200)}, serviceaccount.RequestOptions{MaxExpiration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if *tr.Spec.ExpirationSeconds != 3600 || len(warnings) != 1 || tr.Name != "robot" || tr.Namespace != "ns" || tr.Spec.Audiences[0] != iss {
		t.Errorf("capped: %+v, warnings %v", tr, warnings)
	}
	if !tr.Status.ExpirationTimestamp.Time.Equal(f.clock.now().Add(time.Hour).Truncate(time.Second)) && tr.Status.ExpirationTimestamp.Sub(f.clock.now()) > time.Hour {
		t.Errorf("expirationTimestamp = %v", tr.Status.ExpirationTimestamp)
	}
	tr, _, err = f.request(t, "robot", authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](serviceaccount.WarnOnlyBoundTokenExpirationSeconds),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web"},
	}, serviceaccount.RequestOptions{ExtendExpiration: true})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Exp, Iat   int64
		Kubernetes struct {
			WarnAfter int64 `json:"warnafter"`
		} `json:"kubernetes.io"`
	}
	segment(t, tr.Status.Token, 1, &claims)
	if claims.Exp-claims.Iat != serviceaccount.ExpirationExtensionSeconds || claims.Kubernetes.WarnAfter-claims.Iat != serviceaccount.WarnOnlyBoundTokenExpirationSeconds {
		t.Errorf("extended token: exp-iat %d, warnafter-iat %d", claims.Exp-claims.Iat, claims.Kubernetes.WarnAfter-claims.Iat)
	}
	if got := tr.Status.ExpirationTimestamp.Sub(f.clock.now()); got > time.Duration(serviceaccount.WarnOnlyBoundTokenExpirationSeconds+1)*time.Second {
		t.Errorf("an extended token reports its asked-for expiry, got %v ahead", got)
	}
}

func TestLoadIssuer(t *testing.T) {
	pemBytes, err := keyutil.MarshalPrivateKeyToPEM(key(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sa.key")
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	i, err := serviceaccount.LoadIssuer(iss, path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := serviceaccount.KeyID(&key(t).PublicKey)
	if i.KeyID() != want || i.URL() != iss {
		t.Errorf("kid %s url %s", i.KeyID(), i.URL())
	}
}
