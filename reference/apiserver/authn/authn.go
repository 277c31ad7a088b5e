package authn

import (
	"crypto/x509"
	"fmt"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/request/websocket"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/utils/clock"
)

// Options say which credentials authenticate.
type Options struct {
	// ClientCA verifies client certificates; nil turns x509 authentication off.
	ClientCA *x509.CertPool
	// TokenFile is a static token file in kube-apiserver's --token-auth-file CSV format
	// (token,user,uid,"group1,group2"); empty for none.
	TokenFile string
	// StaticTokens are more static tokens (token to user), as a token file holds them.
	StaticTokens map[string]*user.DefaultInfo
	// Tokens are further bearer token authenticators (ServiceAccount JWTs ...), tried after
	// the static tokens.
	Tokens []authenticator.Token
	// TokenCacheTTL is how long a bearer token's successful authentication is remembered
	// (per token and audiences) before the authenticators see it again; 0 is
	// DefaultTokenCacheTTL, negative turns the cache off. Failures are never remembered.
	TokenCacheTTL time.Duration
}

// DefaultTokenCacheTTL is kube-apiserver's cache of successful token authentications (ten
// seconds, failures not cached): a revoked token, or one whose bound pod or Secret is gone,
// keeps working that long at most.
const DefaultTokenCacheTTL = 10 * time.Second

// New returns the request authenticator of opts. A request that presents a credential which
// does not authenticate (a bearer token no authenticator accepts, a client certificate not
// signed by ClientCA) gets an error, never anonymity; a request with no credential at all
// is not authenticated (false, nil) and apiserver.Access decides whether it is anonymous.
func New(opts Options) (authenticator.Request, error) {
	var requests []authenticator.Request
	if opts.ClientCA != nil {
		verify := x509request.DefaultVerifyOptions()
		verify.Roots = opts.ClientCA
		requests = append(requests, newCachedX509(x509request.New(verify, x509request.CommonNameUserConversion), clock.RealClock{}))
	}
	var tokens []authenticator.Token
	if opts.TokenFile != "" {
		file, err := tokenfile.NewCSV(opts.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("authn: token file: %w", err)
		}
		tokens = append(tokens, file)
	}
	if len(opts.StaticTokens) > 0 {
		tokens = append(tokens, tokenfile.New(opts.StaticTokens))
	}
	tokens = append(tokens, opts.Tokens...)
	// Bearer tokens are always checked, also with no token authenticator: a token nobody
	// accepts is rejected with 401 rather than ignored.
	token := tokenunion.New(tokens...)
	ttl := opts.TokenCacheTTL
	if ttl == 0 {
		ttl = DefaultTokenCacheTTL
	}
	if ttl > 0 {
		token = tokencache.New(token, true, ttl, 0)
	}
	requests = append(requests, bearertoken.New(token), websocket.NewProtocolAuthenticator(token))
	return group.NewAuthenticatedGroupAdder(union.New(requests...)), nil
}
