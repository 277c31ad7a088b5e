package knownbad

import (
	"context"
	"net/http"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/nodeauthz"
	"github.com/clusterkit/clusterkit/reference/apiserver/rbac"
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

// AuthNodesByRoleAlone authorizes kubelets as Kubernetes did before the Node authorizer: every
// member of system:nodes holds the system:node ClusterRole's rules on every object, so any
// kubelet reads every Secret and ConfigMap of the cluster.
func AuthNodesByRoleAlone(c *apiserver.Config) {
	next := c.Access.Authorizer
	rules := rbac.NodeRules()
	c.Access.Authorizer = authorizer.AuthorizerFunc(func(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
		if _, ok := nodeauthz.NodeName(attrs.GetUser()); ok {
			if rbac.RulesAllow(attrs, rules...) {
				return authorizer.DecisionAllow, "", nil
			}
			// Secrets and ConfigMaps as the old system:node role granted them.
			if attrs.GetAPIGroup() == "" && (attrs.GetResource() == "secrets" || attrs.GetResource() == "configmaps") &&
				(attrs.GetVerb() == "get" || attrs.GetVerb() == "list" || attrs.GetVerb() == "watch") {
				return authorizer.DecisionAllow, "", nil
			}
		}
		return next.Authorize(ctx, attrs)
	})
}

// AuthWithoutNodeRestriction runs without the NodeRestriction admission plugin: a kubelet may
// write whatever its authorization allows — other nodes' Node objects, its own taints,
// ordinary pods, other nodes' pods, unbound tokens.
func AuthWithoutNodeRestriction(c *apiserver.Config) {
	c.Admission = skipForNodes{c.Admission}
}

// skipForNodes runs the admission plugins for everyone but kubelets.
type skipForNodes struct{ next admission.Interface }

func (s skipForNodes) Unwrap() admission.Interface { return s.next }

func (s skipForNodes) Handles(op admission.Operation) bool {
	return s.next != nil && s.next.Handles(op)
}

func (s skipForNodes) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if m, ok := s.next.(admission.MutationInterface); ok {
		return m.Admit(ctx, a, o)
	}
	return nil
}

func (s skipForNodes) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if _, isNode := nodeauthz.NodeName(a.GetUserInfo()); isNode {
		return nil
	}
	if v, ok := s.next.(admission.ValidationInterface); ok {
		return v.Validate(ctx, a, o)
	}
	return nil
}
