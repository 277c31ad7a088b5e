package apiserver

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/endpoints/filters/impersonation"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
)

// Access decides who a request comes from and what it may do. The zero value is the
// in-process harness's setting: no authentication (every request acts as a member of
// system:masters) and every request allowed. clusterkit up and labs set both.
type Access struct {
	// Authenticator identifies the caller (client certificate, bearer token ...). A request it
	// does not authenticate gets 401 unless Anonymous is set, in which case it continues as
	// system:anonymous in group system:unauthenticated.
	Authenticator authenticator.Request
	// Anonymous lets unauthenticated requests through as system:anonymous (the authorizer then
	// decides; kubeadm's default allows only /healthz, /livez, /readyz and /version).
	Anonymous bool
	// AnonymousPaths, when not empty, limit Anonymous to requests for these paths and their
	// sub-paths (PublicInfoPaths: kube-apiserver's anonymous authentication configured for
	// its health and version endpoints only); any other unauthenticated request gets 401.
	AnonymousPaths []string
	// APIAudiences are the audiences tokens must be issued for (ServiceAccount tokens:
	// the issuer's default audience).
	APIAudiences authenticator.Audiences
	// Authorizer decides every request after authentication and impersonation (RBAC, the Node
	// authorizer ...). nil allows everything.
	Authorizer authorizer.Authorizer
	// Synced, when set, reports whether the Authorizer's informers have synced: until then
	// /readyz's informer-sync check fails, as kube-apiserver's does, so that a client that
	// waits for readiness (a controller manager started beside the server) is not refused by
	// an authorizer that knows no roles yet.
	Synced func() bool
}

// harnessUser is who every request acts as when Access has no Authenticator.
var harnessUser = &user.DefaultInfo{Name: "system:apiserver", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}}

// alwaysAllow is the authorizer of a server without Access.Authorizer.
type alwaysAllow struct{}

func (alwaysAllow) Authorize(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionAllow, "", nil
}

// requestInfoResolver parses paths into verb, group, resource, subresource, namespace, name
// exactly as kube-apiserver does, so that authorization sees what RBAC rules name.
func requestInfoResolver() *genericrequest.RequestInfoFactory {
	return &genericrequest.RequestInfoFactory{
		APIPrefixes:          sets.NewString("api", "apis"),
		GrouplessAPIPrefixes: sets.NewString("api"),
	}
}

// withAccess wraps the router in kube-apiserver's own filters, innermost first:
// authorization, impersonation (Impersonate-User/-Group/-Uid/-Extra headers, themselves
// authorized with the impersonate verb), authentication, request info.
func (s *Server) withAccess(next http.Handler) http.Handler {
	codecs := serializer.NewCodecFactory(s.scheme).WithoutConversion()
	var authz authorizer.UnconditionalAuthorizer = alwaysAllow{}
	if s.cfg.Access.Authorizer != nil {
		authz = s.cfg.Access.Authorizer
	}
	h := filters.WithAuthorization(next, authz, codecs)
	h = impersonation.WithImpersonation(h, authz, codecs)
	if s.cfg.Access.Authenticator == nil {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := genericrequest.UserFrom(r.Context()); !ok {
				r = r.WithContext(genericrequest.WithUser(r.Context(), harnessUser))
			}
			inner.ServeHTTP(w, r)
		})
	} else {
		authn := s.cfg.Access.Authenticator
		if s.cfg.Access.Anonymous {
			authn = withAnonymous(authn, s.cfg.Access.AnonymousPaths)
		}
		h = filters.WithAuthentication(h, authn, filters.Unauthorized(codecs), s.cfg.Access.APIAudiences, nil)
	}
	h = s.metrics.Instrument(h)
	return filters.WithRequestInfo(h, requestInfoResolver())
}

// PublicInfoPaths are the endpoints kubeadm lets anyone read (the system:public-info-viewer
// ClusterRole): health and version.
func PublicInfoPaths() []string { return []string{"/healthz", "/livez", "/readyz", "/version"} }

// withAnonymous answers system:anonymous for a request no authenticator recognised, for any
// path when paths is empty, else only for those paths and their sub-paths. A request that
// carried credentials which failed (a bad token) is still rejected, as kube-apiserver does.
func withAnonymous(authn authenticator.Request, paths []string) authenticator.Request {
	return authenticator.RequestFunc(func(r *http.Request) (*authenticator.Response, bool, error) {
		resp, ok, err := authn.AuthenticateRequest(r)
		if ok || err != nil {
			return resp, ok, err
		}
		if len(paths) > 0 && !slices.ContainsFunc(paths, func(p string) bool {
			return r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/")
		}) {
			return nil, false, nil
		}
		return &authenticator.Response{User: &user.DefaultInfo{
			Name:   user.Anonymous,
			Groups: []string{user.AllUnauthenticated},
		}}, true, nil
	})
}

// requestUser returns who the request acts as (after impersonation).
func requestUser(ctx context.Context) user.Info {
	if u, ok := genericrequest.UserFrom(ctx); ok {
		return u
	}
	return harnessUser
}
