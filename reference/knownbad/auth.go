package knownbad

import (
	"context"
	"net/http"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// AuthAnonymousWrites opens a closed API server to anonymous clients: every unauthenticated
// request is system:anonymous, on every path, and system:anonymous may do everything.
func AuthAnonymousWrites(a *apiserver.Access) {
	a.Anonymous, a.AnonymousPaths = true, nil
	next := a.Authorizer
	a.Authorizer = authorizer.AuthorizerFunc(func(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
		if u := attrs.GetUser(); u != nil && u.GetName() == user.Anonymous || next == nil {
			return authorizer.DecisionAllow, "", nil
		}
		return next.Authorize(ctx, attrs)
	})
}

// AuthBadCredentialsAnonymous treats a request whose credentials fail (an unknown bearer token,
// a client certificate of a foreign CA) as one without credentials: on the public-info
// endpoints it is served as system:anonymous instead of rejected with 401.
func AuthBadCredentialsAnonymous(a *apiserver.Access) {
	next := a.Authenticator
	a.Authenticator = authenticator.RequestFunc(func(r *http.Request) (*authenticator.Response, bool, error) {
		resp, ok, err := next.AuthenticateRequest(r)
		if err != nil {
			return nil, false, nil
		}
		return resp, ok, nil
	})
}

// AuthTrustingAnyClientCert authenticates every client certificate by its subject (CN the user,
// O the groups) without verifying who signed it.
func AuthTrustingAnyClientCert(a *apiserver.Access) {
	next := a.Authenticator
	a.Authenticator = authenticator.RequestFunc(func(r *http.Request) (*authenticator.Response, bool, error) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			c := r.TLS.PeerCertificates[0]
			groups := append(append([]string(nil), c.Subject.Organization...), user.AllAuthenticated)
			return &authenticator.Response{User: &user.DefaultInfo{Name: c.Subject.CommonName, Groups: groups}}, true, nil
		}
		return next.AuthenticateRequest(r)
	})
}
