package conformance

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// Sources of the ServiceAccount token behaviours.
const (
	srcTokenRequest    = "Kubernetes TokenRequest API (kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1) and pkg/registry/core/serviceaccount/storage/token.go"
	srcBoundTokens     = "Kubernetes: bound service account tokens (kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens) and pkg/serviceaccount/claims.go"
	srcSATokenAuthn    = "Kubernetes: authenticating, service account tokens (kubernetes.io/docs/reference/access-authn-authz/authentication/#service-account-tokens)"
	srcTokenReview     = "Kubernetes TokenReview API (kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1)"
	srcIssuerDiscovery = "Kubernetes: service account issuer discovery (kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#service-account-issuer-discovery)"
)

// tokenWait bounds how long a revoked token may keep working (servers look bound objects up
// through caches).
const tokenWait = 30 * time.Second

// tokenSpecs are the auth behaviours of ServiceAccount tokens: TokenRequest, bound tokens, TokenReview, issuer discovery.
func tokenSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.tokens.request-authenticates", "a token from a ServiceAccount's TokenRequest MUST authenticate as that ServiceAccount: a SelfSubjectReview sent with only that bearer token answers the username system:serviceaccount:<namespace>:<name>, the ServiceAccount's uid and the groups system:serviceaccounts and system:serviceaccounts:<namespace>", srcSATokenAuthn), specTokenAuthenticates},
		{auth("auth.tokens.default-expiration", "a TokenRequest without expirationSeconds MUST be answered with a token valid for one hour: spec.expirationSeconds 3600, status.expirationTimestamp an hour ahead and exp − iat of 3600 s in the token", srcTokenRequest), specTokenDefaultExpiration},
		{auth("auth.tokens.minimum-expiration", "a TokenRequest with expirationSeconds below 600 MUST be rejected with 422 naming spec.expirationSeconds", srcTokenRequest), specTokenMinimumExpiration},
		{auth("auth.tokens.missing-serviceaccount", "a TokenRequest for a ServiceAccount that does not exist MUST be rejected with 404", srcTokenRequest), specTokenMissingServiceAccount},
		{auth("auth.tokens.bound-object-must-exist", "a TokenRequest bound to a pod MUST be rejected with 404 when the pod does not exist and with 409 when boundObjectRef.uid is not the pod's uid", srcTokenRequest), specTokenBoundObjectMustExist},
		{auth("auth.tokens.pod-bound-revoked", "a token bound to a pod MUST authenticate with the pod's name and uid in the user's extra while the pod exists, and MUST be rejected with 401 once the pod is deleted", srcBoundTokens), specTokenPodBoundRevoked},
		{auth("auth.tokens.secret-bound-revoked", "a token bound to a Secret MUST be rejected with 401 once the Secret is deleted", srcBoundTokens), specTokenSecretBoundRevoked},
		{auth("auth.tokens.serviceaccount-recreated", "a token of a ServiceAccount that was deleted and re-created under the same name MUST be rejected with 401", srcBoundTokens), specTokenServiceAccountRecreated},
		{auth("auth.tokens.audience", "a token requested for an audience other than the API server's MUST be rejected by the API with 401, and a TokenReview for that audience MUST report it authenticated with status.audiences naming it", srcTokenRequest), specTokenAudience},
		{auth("auth.tokens.tokenreview", "a TokenReview MUST report authenticated=true with the ServiceAccount's username for a valid ServiceAccount token and authenticated=false for a malformed one", srcTokenReview), specTokenReview},
		{auth("auth.tokens.issuer-discovery", "the issuer in /.well-known/openid-configuration MUST be the iss of the tokens the server issues, and the key set at /openid/v1/jwks MUST hold the token's kid and verify its signature", srcIssuerDiscovery), specTokenIssuerDiscovery},
	}
}

// newServiceAccount creates a ServiceAccount in the spec's namespace.
func newServiceAccount(ctx context.Context, g gomega.Gomega, e *authEnv, name string) *corev1.ServiceAccount {
	sa, err := e.admin.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating the ServiceAccount %s", name)
	return sa
}

// requestToken asks for a token of ServiceAccount name with spec.
func requestToken(ctx context.Context, e *authEnv, name string, spec authenticationv1.TokenRequestSpec) (*authenticationv1.TokenRequest, error) {
	return e.admin.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
}

// mustToken asks for a token and fails the spec if there is none.
func mustToken(ctx context.Context, g gomega.Gomega, e *authEnv, name string, spec authenticationv1.TokenRequestSpec) string {
	tr, err := requestToken(ctx, e, name, spec)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "requesting a token of ServiceAccount %s", name)
	g.ExpectWithOffset(1, tr.Status.Token).NotTo(gomega.BeEmpty(), "status.token of the TokenRequest")
	return tr.Status.Token
}

// tokenClient reaches the server with only a bearer token (and Admin's CA).
func tokenClient(g gomega.Gomega, e *authEnv, token string) kubernetes.Interface {
	cfg := rest.AnonymousClientConfig(e.server.Admin)
	cfg.BearerToken = token
	c, err := specClient(cfg)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "building a client with the token")
	return c
}

// whoami sends a SelfSubjectReview with c.
func whoami(ctx context.Context, c kubernetes.Interface) (authenticationv1.UserInfo, error) {
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

// expectRevoked waits until the token is rejected with 401.
func expectRevoked(ctx context.Context, g gomega.Gomega, c kubernetes.Interface, what string) {
	g.EventuallyWithOffset(1, func() error {
		_, err := whoami(ctx, c)
		return err
	}).WithContext(ctx).WithTimeout(tokenWait).WithPolling(250*time.Millisecond).Should(
		gomega.Satisfy(apierrors.IsUnauthorized), "%s: the token must be rejected with 401 within %s", what, tokenWait)
}

// unverifiedClaims reads a token's registered claims without checking its signature.
func unverifiedClaims(g gomega.Gomega, token string) jwt.Claims {
	tok, err := jwt.ParseSigned(token, tokenAlgorithms)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "the token must be a signed JWT")
	var c jwt.Claims
	g.ExpectWithOffset(1, tok.UnsafeClaimsWithoutVerification(&c)).To(gomega.Succeed(), "reading the token's claims")
	return c
}

// tokenAlgorithms are the signature algorithms a ServiceAccount key may use.
var tokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.ES512}

// pendingPod is a pod of ServiceAccount sa that no node can run, so it stays pending.
func pendingPod(name, sa string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			NodeSelector:       map[string]string{"conformance.clusterkit.io/no-such-node": "true"},
			Containers:         []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
}

func specTokenAuthenticates(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sa := newServiceAccount(ctx, g, e, "robot")
	token := mustToken(ctx, g, e, sa.Name, authenticationv1.TokenRequestSpec{})
	u, err := whoami(ctx, tokenClient(g, e, token))
	ok(g, err, "a SelfSubjectReview with the token")
	g.Expect(u.Username).To(gomega.Equal("system:serviceaccount:"+e.ns+":robot"), "the username of the token")
	g.Expect(u.UID).To(gomega.Equal(string(sa.UID)), "the uid of the token's user is the ServiceAccount's")
	g.Expect(u.Groups).To(gomega.ContainElements("system:serviceaccounts", "system:serviceaccounts:"+e.ns), "the groups of the token's user")
}

func specTokenDefaultExpiration(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	before := time.Now()
	tr, err := requestToken(ctx, e, "robot", authenticationv1.TokenRequestSpec{})
	ok(g, err, "requesting a token without expirationSeconds")
	g.Expect(tr.Spec.ExpirationSeconds).NotTo(gomega.BeNil(), "spec.expirationSeconds of the answer")
	g.Expect(*tr.Spec.ExpirationSeconds).To(gomega.Equal(int64(3600)), "spec.expirationSeconds of the answer")
	g.Expect(tr.Status.ExpirationTimestamp.Time).To(gomega.BeTemporally("~", before.Add(time.Hour), 2*time.Minute), "status.expirationTimestamp")
	c := unverifiedClaims(g, tr.Status.Token)
	g.Expect(c.Expiry).NotTo(gomega.BeNil(), "the token's exp")
	g.Expect(c.IssuedAt).NotTo(gomega.BeNil(), "the token's iat")
	g.Expect(int64(*c.Expiry)-int64(*c.IssuedAt)).To(gomega.Equal(int64(3600)), "exp − iat of the token")
}

func specTokenMinimumExpiration(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	_, err := requestToken(ctx, e, "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](599)})
	g.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrue(), "a TokenRequest of 599 s: expected 422, got %v", err)
	g.Expect(causeFields(err)).To(gomega.ContainElement("spec.expirationSeconds"), "the 422 must name spec.expirationSeconds: %v", err)
	_, err = requestToken(ctx, e, "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)})
	ok(g, err, "a TokenRequest of exactly 600 s")
}

// causeFields are the fields a Status error names.
func causeFields(err error) []string {
	var out []string
	if s, isStatus := err.(apierrors.APIStatus); isStatus && s.Status().Details != nil {
		for _, c := range s.Status().Details.Causes {
			out = append(out, c.Field)
		}
	}
	return out
}

func specTokenMissingServiceAccount(ctx context.Context, g gomega.Gomega, e *authEnv) {
	_, err := requestToken(ctx, e, "no-such-account", authenticationv1.TokenRequestSpec{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a TokenRequest for a missing ServiceAccount: expected 404, got %v", err)
}

func specTokenBoundObjectMustExist(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	_, err := requestToken(ctx, e, "robot", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "no-such-pod"},
	})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a token bound to a missing pod: expected 404, got %v", err)

	pod, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, pendingPod("bound", "robot"), metav1.CreateOptions{})
	ok(g, err, "creating the pod")
	_, err = requestToken(ctx, e, "robot", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: types.UID("00000000-0000-0000-0000-000000000000")},
	})
	g.Expect(apierrors.IsConflict(err)).To(gomega.BeTrue(), "a token bound to the pod under another uid: expected 409, got %v", err)
}

func specTokenPodBoundRevoked(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	pod, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, pendingPod("bound", "robot"), metav1.CreateOptions{})
	ok(g, err, "creating the pod")
	token := mustToken(ctx, g, e, "robot", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	})
	c := tokenClient(g, e, token)
	u, err := whoami(ctx, c)
	ok(g, err, "a SelfSubjectReview with the pod-bound token while the pod exists")
	g.Expect(u.Username).To(gomega.Equal("system:serviceaccount:"+e.ns+":robot"), "the username of the pod-bound token")
	g.Expect(u.Extra).To(gomega.HaveKeyWithValue("authentication.kubernetes.io/pod-name", authenticationv1.ExtraValue{pod.Name}), "the user's extra names the pod")
	g.Expect(u.Extra).To(gomega.HaveKeyWithValue("authentication.kubernetes.io/pod-uid", authenticationv1.ExtraValue{string(pod.UID)}), "the user's extra names the pod's uid")

	ok(g, e.admin.CoreV1().Pods(e.ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}), "deleting the pod")
	expectRevoked(ctx, g, c, "the token of a deleted pod")
}

func specTokenSecretBoundRevoked(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	sec, err := e.admin.CoreV1().Secrets(e.ns).Create(ctx, secret("anchor", map[string]string{"k": "v"}), metav1.CreateOptions{})
	ok(g, err, "creating the Secret")
	token := mustToken(ctx, g, e, "robot", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: sec.Name, UID: sec.UID},
	})
	c := tokenClient(g, e, token)
	_, err = whoami(ctx, c)
	ok(g, err, "a SelfSubjectReview with the Secret-bound token while the Secret exists")
	ok(g, e.admin.CoreV1().Secrets(e.ns).Delete(ctx, sec.Name, metav1.DeleteOptions{}), "deleting the Secret")
	expectRevoked(ctx, g, c, "the token of a deleted Secret")
}

func specTokenServiceAccountRecreated(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	token := mustToken(ctx, g, e, "robot", authenticationv1.TokenRequestSpec{})
	c := tokenClient(g, e, token)
	_, err := whoami(ctx, c)
	ok(g, err, "a SelfSubjectReview with the token before the ServiceAccount is deleted")
	ok(g, e.admin.CoreV1().ServiceAccounts(e.ns).Delete(ctx, "robot", metav1.DeleteOptions{}), "deleting the ServiceAccount")
	g.Eventually(func() error {
		_, err := e.admin.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(tokenWait).WithPolling(250*time.Millisecond).Should(gomega.Succeed(), "re-creating the ServiceAccount")
	expectRevoked(ctx, g, c, "the token of the deleted ServiceAccount")
}

func specTokenAudience(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	const aud = "conformance.clusterkit.io/vault"
	token := mustToken(ctx, g, e, "robot", authenticationv1.TokenRequestSpec{Audiences: []string{aud}})
	_, err := whoami(ctx, tokenClient(g, e, token))
	g.Expect(apierrors.IsUnauthorized(err)).To(gomega.BeTrue(), "the API with a token for audience %s: expected 401, got %v", aud, err)

	rev, err := e.admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{aud}},
	}, metav1.CreateOptions{})
	ok(g, err, "a TokenReview for the token's audience")
	g.Expect(rev.Status.Authenticated).To(gomega.BeTrue(), "the TokenReview for the token's audience (error %q)", rev.Status.Error)
	g.Expect(rev.Status.Audiences).To(gomega.ConsistOf(aud), "status.audiences of the TokenReview")
	g.Expect(rev.Status.User.Username).To(gomega.Equal("system:serviceaccount:"+e.ns+":robot"), "the reviewed user")
}

func specTokenReview(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	token := mustToken(ctx, g, e, "robot", authenticationv1.TokenRequestSpec{})
	rev, err := e.admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	ok(g, err, "a TokenReview of a valid token")
	g.Expect(rev.Status.Authenticated).To(gomega.BeTrue(), "the TokenReview of a valid token (error %q)", rev.Status.Error)
	g.Expect(rev.Status.User.Username).To(gomega.Equal("system:serviceaccount:"+e.ns+":robot"), "the reviewed user")
	g.Expect(rev.Status.User.Groups).To(gomega.ContainElements("system:serviceaccounts", "system:serviceaccounts:"+e.ns), "the reviewed user's groups")

	parts := strings.Split(token, ".")
	garbage := parts[0] + "." + parts[1] + ".bm90LWEtc2lnbmF0dXJl"
	for _, bad := range []string{"not-a-token", garbage} {
		rev, err = e.admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: bad},
		}, metav1.CreateOptions{})
		ok(g, err, "a TokenReview of a malformed token")
		g.Expect(rev.Status.Authenticated).To(gomega.BeFalse(), "the TokenReview of %q", bad)
		g.Expect(rev.Status.User.Username).To(gomega.BeEmpty(), "the user of a rejected token")
	}
}

func specTokenIssuerDiscovery(ctx context.Context, g gomega.Gomega, e *authEnv) {
	newServiceAccount(ctx, g, e, "robot")
	token := mustToken(ctx, g, e, "robot", authenticationv1.TokenRequestSpec{})

	raw, err := e.admin.CoreV1().RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
	ok(g, err, "reading /.well-known/openid-configuration")
	var cfg struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		ResponseTypes []string `json:"response_types_supported"`
		SubjectTypes  []string `json:"subject_types_supported"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	}
	ok(g, json.Unmarshal(raw, &cfg), "decoding the discovery document")
	g.Expect(cfg.JWKSURI).NotTo(gomega.BeEmpty(), "jwks_uri of the discovery document")
	g.Expect(cfg.ResponseTypes).To(gomega.ContainElement("id_token"), "response_types_supported")
	g.Expect(cfg.SubjectTypes).To(gomega.ContainElement("public"), "subject_types_supported")

	raw, err = e.admin.CoreV1().RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
	ok(g, err, "reading /openid/v1/jwks")
	var keys jose.JSONWebKeySet
	ok(g, json.Unmarshal(raw, &keys), "decoding the key set")

	tok, err := jwt.ParseSigned(token, tokenAlgorithms)
	ok(g, err, "parsing the token")
	g.Expect(tok.Headers).NotTo(gomega.BeEmpty(), "the token's header")
	kid := tok.Headers[0].KeyID
	g.Expect(kid).NotTo(gomega.BeEmpty(), "the token's kid")
	found := keys.Key(kid)
	g.Expect(found).NotTo(gomega.BeEmpty(), "the key set must hold the token's kid %q", kid)
	g.Expect(cfg.SigningAlgs).To(gomega.ContainElement(tok.Headers[0].Algorithm), "id_token_signing_alg_values_supported must list the token's alg")
	var claims jwt.Claims
	ok(g, tok.Claims(found[0].Key, &claims), "verifying the token's signature with the published key")
	g.Expect(claims.Issuer).To(gomega.Equal(cfg.Issuer), "the token's iss must be the discovery document's issuer")
}
