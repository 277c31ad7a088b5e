package serviceaccount

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/util/keyutil"
)

// Ref names one object in the kubernetes.io claim.
type Ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// KubernetesClaims is the private kubernetes.io claim of a ServiceAccount token.
type KubernetesClaims struct {
	Namespace      string `json:"namespace,omitempty"`
	ServiceAccount Ref    `json:"serviceaccount,omitempty"`
	// At most one of Pod, Secret and Node binds the token; a pod-bound token also names the
	// pod's node (Node without binding it).
	Pod    *Ref `json:"pod,omitempty"`
	Secret *Ref `json:"secret,omitempty"`
	Node   *Ref `json:"node,omitempty"`
	// WarnAfter is set on tokens whose expiry was extended (see ExpirationExtensionSeconds).
	WarnAfter *jwt.NumericDate `json:"warnafter,omitempty"`
}

// privateClaims is the JSON shape of the private claims.
type privateClaims struct {
	Kubernetes KubernetesClaims `json:"kubernetes.io,omitempty"`
}

// signedClaims is the JSON payload of a token: aud is always an array, as kube-apiserver
// writes it (go-jose writes a single audience as a string).
type signedClaims struct {
	jwt.Claims
	Audience   []string         `json:"aud,omitempty"`
	Kubernetes KubernetesClaims `json:"kubernetes.io,omitempty"`
}

// Claims are every claim of a ServiceAccount token.
type Claims struct {
	// Public are the registered claims: iss, sub, aud, exp, nbf, iat, jti.
	Public jwt.Claims
	// Kubernetes is the kubernetes.io claim.
	Kubernetes KubernetesClaims
}

// Binding is the object a token is bound to: a pod (and optionally its node, recorded but not
// binding), a secret, or a node. The zero value binds the token to its ServiceAccount only.
type Binding struct {
	Pod    *corev1.Pod
	Secret *corev1.Secret
	Node   *corev1.Node
}

// Issuer signs ServiceAccount tokens with one RSA key.
type Issuer struct {
	url     string
	jwksURI string
	key     *rsa.PrivateKey
	keyID   string
	signer  jose.Signer
	now     func() time.Time
}

// IssuerOption configures an Issuer.
type IssuerOption func(*Issuer)

// WithClock makes the issuer stamp tokens with now's time (default time.Now).
func WithClock(now func() time.Time) IssuerOption {
	return func(i *Issuer) { i.now = now }
}

// WithJWKSURI sets the jwks_uri the discovery document publishes (kube-apiserver's
// --service-account-jwks-uri). Unset, it is the issuer URL followed by /openid/v1/jwks.
func WithJWKSURI(uri string) IssuerOption {
	return func(i *Issuer) { i.jwksURI = uri }
}

// NewIssuer returns an issuer whose tokens carry iss issuerURL (kube-apiserver's
// --service-account-issuer; kubeadm uses https://kubernetes.default.svc.cluster.local) and
// are signed with key (--service-account-signing-key-file).
func NewIssuer(issuerURL string, key *rsa.PrivateKey, opts ...IssuerOption) (*Issuer, error) {
	if issuerURL == "" {
		return nil, errors.New("serviceaccount: the issuer URL is empty")
	}
	if key == nil {
		return nil, errors.New("serviceaccount: no signing key")
	}
	kid, err := KeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       &jose.JSONWebKey{Algorithm: string(jose.RS256), Key: key, KeyID: kid, Use: "sig"},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: creating the signer: %w", err)
	}
	i := &Issuer{url: issuerURL, key: key, keyID: kid, signer: signer, now: time.Now}
	for _, o := range opts {
		o(i)
	}
	if i.jwksURI == "" {
		i.jwksURI = issuerURL + JWKSPath
	}
	return i, nil
}

// LoadIssuer is NewIssuer with the RSA private key read from a PEM file (kubeadm's sa.key).
func LoadIssuer(issuerURL, keyFile string, opts ...IssuerOption) (*Issuer, error) {
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: reading the signing key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("serviceaccount: the signing key in %s is a %T, not an RSA key", keyFile, k)
	}
	return NewIssuer(issuerURL, rk, opts...)
}

// KeyID is the kid of a public key as kube-apiserver derives it: the unpadded base64url SHA-256
// of the key's PKIX DER encoding, which names the key without revealing it.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("serviceaccount: encoding the public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// URL is the issuer (the iss claim of every token).
func (i *Issuer) URL() string { return i.url }

// JWKSURI is the jwks_uri published in the discovery document.
func (i *Issuer) JWKSURI() string { return i.jwksURI }

// KeyID is the kid of the signing key.
func (i *Issuer) KeyID() string { return i.keyID }

// PublicKey is the key tokens are verified with.
func (i *Issuer) PublicKey() *rsa.PublicKey { return &i.key.PublicKey }

// Issue signs a token for sa, for audiences, valid for expiration from now, bound to b. A
// non-zero warnAfter records when the token would have expired had it not been extended.
// It returns the token and its claims.
func (i *Issuer) Issue(sa *corev1.ServiceAccount, audiences []string, expiration, warnAfter time.Duration, b Binding) (string, *Claims, error) {
	if sa == nil {
		return "", nil, errors.New("serviceaccount: no ServiceAccount to issue a token for")
	}
	if b.Secret != nil && (b.Pod != nil || b.Node != nil) {
		return "", nil, errors.New("serviceaccount: a token is bound to one object only")
	}
	now := i.now()
	c := &Claims{
		Public: jwt.Claims{
			Issuer:    i.url,
			Subject:   apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name),
			Audience:  jwt.Audience(audiences),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(expiration)),
			ID:        uuid.NewString(),
		},
		Kubernetes: KubernetesClaims{
			Namespace:      sa.Namespace,
			ServiceAccount: Ref{Name: sa.Name, UID: string(sa.UID)},
		},
	}
	switch {
	case b.Pod != nil:
		c.Kubernetes.Pod = &Ref{Name: b.Pod.Name, UID: string(b.Pod.UID)}
		if b.Node != nil {
			c.Kubernetes.Node = &Ref{Name: b.Node.Name, UID: string(b.Node.UID)}
		}
	case b.Secret != nil:
		c.Kubernetes.Secret = &Ref{Name: b.Secret.Name, UID: string(b.Secret.UID)}
	case b.Node != nil:
		c.Kubernetes.Node = &Ref{Name: b.Node.Name, UID: string(b.Node.UID)}
	}
	if warnAfter != 0 {
		c.Kubernetes.WarnAfter = jwt.NewNumericDate(now.Add(warnAfter))
	}
	tok, err := jwt.Signed(i.signer).Claims(signedClaims{Claims: c.Public, Audience: audiences, Kubernetes: c.Kubernetes}).Serialize()
	if err != nil {
		return "", nil, fmt.Errorf("serviceaccount: signing the token: %w", err)
	}
	return tok, c, nil
}
