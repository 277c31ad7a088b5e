package serviceaccount

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	tokenjwt "k8s.io/apiserver/pkg/authentication/token/jwt"
	"k8s.io/client-go/kubernetes"
)

// Getter reads the objects a token names. Errors are Kubernetes Status errors (NotFound when
// the object is gone).
type Getter interface {
	GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	GetNode(ctx context.Context, name string) (*corev1.Node, error)
}

// ClientGetter reads through a client (a controller manager or a test outside the server).
func ClientGetter(c kubernetes.Interface) Getter { return clientGetter{c} }

type clientGetter struct{ c kubernetes.Interface }

func (g clientGetter) GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	return g.c.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (g clientGetter) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return g.c.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (g clientGetter) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return g.c.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (g clientGetter) GetNode(ctx context.Context, name string) (*corev1.Node, error) {
	return g.c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
}

// Authenticator authenticates ServiceAccount tokens (an authenticator.Token, as
// kube-apiserver's JWT token authenticator with lookup enabled).
type Authenticator struct {
	issuers      map[string]bool
	keys         []publicKey
	implicitAuds authenticator.Audiences
	getter       Getter
	now          func() time.Time
}

type publicKey struct {
	id  string
	key crypto.PublicKey
}

// AuthenticatorOption configures an Authenticator.
type AuthenticatorOption func(*Authenticator)

// WithAuthenticatorClock makes the authenticator judge expiry by now (default time.Now).
func WithAuthenticatorClock(now func() time.Time) AuthenticatorOption {
	return func(a *Authenticator) { a.now = now }
}

// NewAuthenticator accepts tokens issued by one of issuers, signed by one of keys (RSA public
// keys, or private keys whose public half is used), for one of the audiences of the request
// (authenticator.AudiencesFrom; default apiAudiences, which are also the audiences of a token
// that names none), and whose ServiceAccount and bound object getter still finds with the
// same uid.
func NewAuthenticator(issuers []string, keys []crypto.PublicKey, apiAudiences authenticator.Audiences, getter Getter, opts ...AuthenticatorOption) (*Authenticator, error) {
	if len(issuers) == 0 {
		return nil, errors.New("serviceaccount: no issuer to accept")
	}
	if getter == nil {
		return nil, errors.New("serviceaccount: no getter to look tokens' objects up with")
	}
	a := &Authenticator{issuers: map[string]bool{}, implicitAuds: apiAudiences, getter: getter, now: time.Now}
	for _, iss := range issuers {
		a.issuers[iss] = true
	}
	for _, k := range keys {
		if priv, ok := k.(*rsa.PrivateKey); ok {
			k = &priv.PublicKey
		}
		id, err := KeyID(k)
		if err != nil {
			return nil, err
		}
		a.keys = append(a.keys, publicKey{id: id, key: k})
	}
	if len(a.keys) == 0 {
		return nil, errors.New("serviceaccount: no key to verify tokens with")
	}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// Authenticator returns the authenticator of this issuer's tokens (the one kube-apiserver
// composes from --service-account-issuer and --service-account-key-file).
func (i *Issuer) Authenticator(apiAudiences authenticator.Audiences, getter Getter, opts ...AuthenticatorOption) (*Authenticator, error) {
	return NewAuthenticator([]string{i.url}, []crypto.PublicKey{i.PublicKey()}, apiAudiences, getter, opts...)
}

var _ authenticator.Token = (*Authenticator)(nil)

// AuthenticateToken implements authenticator.Token. A token that is not a JWT of one of the
// accepted issuers is not recognised (false, nil), so other authenticators may try it; one
// that is but fails a check is rejected with the reason.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	claims, ok, err := a.Verify(token)
	if !ok || err != nil {
		return nil, false, err
	}
	tokenAuds := authenticator.Audiences(claims.Public.Audience)
	if len(tokenAuds) == 0 {
		tokenAuds = a.implicitAuds
	}
	requested, found := authenticator.AudiencesFrom(ctx)
	if !found {
		requested = a.implicitAuds
	}
	auds := tokenAuds.Intersect(requested)
	if len(auds) == 0 && len(a.implicitAuds) != 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", tokenAuds, requested)
	}
	info, err := a.validate(ctx, claims)
	if err != nil {
		return nil, false, err
	}
	return &authenticator.Response{User: info.UserInfo(), Audiences: auds}, true, nil
}

// Verify checks a token's issuer and signature only, and returns its claims: ok is false for a
// token that is not a JWT of an accepted issuer. It does not judge audience, lifetime or the
// objects the token names (AuthenticateToken does).
func (a *Authenticator) Verify(token string) (*Claims, bool, error) {
	if !a.hasAcceptedIssuer(token) {
		return nil, false, nil
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, false, nil
	}
	var kid string
	for _, h := range tok.Headers {
		if h.KeyID != "" {
			kid = h.KeyID
			break
		}
	}
	var errs []string
	tried := 0
	for _, k := range a.keys {
		if kid != "" && k.id != kid {
			continue
		}
		tried++
		var public jwt.Claims
		var private privateClaims
		if err := tok.Claims(k.key, &public, &private); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if !a.issuers[public.Issuer] {
			return nil, false, fmt.Errorf("token issuer %q is invalid", public.Issuer)
		}
		return &Claims{Public: public, Kubernetes: private.Kubernetes}, true, nil
	}
	if tried == 0 {
		return nil, false, errors.New("invalid signature, no keys found")
	}
	return nil, false, errors.New(strings.Join(errs, ", "))
}

// hasAcceptedIssuer peeks at the unverified iss claim, so that tokens of other issuers are left
// to other authenticators.
func (a *Authenticator) hasAcceptedIssuer(token string) bool {
	if strings.HasPrefix(strings.TrimSpace(token), "{") {
		return false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return false
	}
	return a.issuers[c.Issuer]
}

// errInvalidated is what a token whose bound object is gone is rejected with, as upstream.
var errInvalidated = errors.New("service account token has been invalidated")

// validate checks the token's lifetime and that what it names still exists with the same uid.
func (a *Authenticator) validate(ctx context.Context, c *Claims) (*apiserverserviceaccount.ServiceAccountInfo, error) {
	now := a.now()
	switch err := c.Public.Validate(jwt.Expected{Time: now}); {
	case err == nil:
	case errors.Is(err, jwt.ErrExpired):
		return nil, errors.New("service account token has expired")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, errors.New("service account token is not valid yet")
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, errors.New("service account token is issued in the future")
	default:
		return nil, fmt.Errorf("service account token claims could not be validated: %w", err)
	}
	// Objects deleted (with a deletion timestamp) before now minus the leeway no longer
	// vouch for a token.
	deadline := now.Add(-jwt.DefaultLeeway)
	gone := func(m metav1.Object) bool {
		ts := m.GetDeletionTimestamp()
		return ts != nil && ts.Time.Before(deadline)
	}
	k := c.Kubernetes
	ns := k.Namespace
	sa, err := a.getter.GetServiceAccount(ctx, ns, k.ServiceAccount.Name)
	if err != nil {
		return nil, err
	}
	if string(sa.UID) != k.ServiceAccount.UID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", sa.UID, k.ServiceAccount.UID)
	}
	if gone(sa) {
		return nil, fmt.Errorf("service account %s/%s has been deleted", ns, k.ServiceAccount.Name)
	}
	info := &apiserverserviceaccount.ServiceAccountInfo{
		Namespace: ns, Name: k.ServiceAccount.Name, UID: k.ServiceAccount.UID,
		CredentialID: tokenjwt.CredentialIDForJTI(c.Public.ID),
	}
	if ref := k.Secret; ref != nil {
		s, err := a.getter.GetSecret(ctx, ns, ref.Name)
		if err != nil {
			return nil, errInvalidated
		}
		if string(s.UID) != ref.UID {
			return nil, fmt.Errorf("secret UID (%s) does not match service account secret ref claim (%s)", s.UID, ref.UID)
		}
		if gone(s) {
			return nil, errInvalidated
		}
	}
	if ref := k.Pod; ref != nil {
		p, err := a.getter.GetPod(ctx, ns, ref.Name)
		if err != nil {
			return nil, errInvalidated
		}
		if string(p.UID) != ref.UID {
			return nil, fmt.Errorf("pod UID (%s) does not match service account pod ref claim (%s)", p.UID, ref.UID)
		}
		if gone(p) {
			return nil, errInvalidated
		}
		info.PodName, info.PodUID = ref.Name, ref.UID
	}
	if ref := k.Node; ref != nil {
		if k.Pod == nil {
			// A node-bound token lives as long as its node.
			n, err := a.getter.GetNode(ctx, ref.Name)
			if err != nil {
				return nil, errInvalidated
			}
			if string(n.UID) != ref.UID {
				return nil, fmt.Errorf("node UID (%s) does not match service account node ref claim (%s)", n.UID, ref.UID)
			}
			if gone(n) {
				return nil, errInvalidated
			}
		}
		info.NodeName, info.NodeUID = ref.Name, ref.UID
	}
	return info, nil
}
