package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/union"
)

// Privileged allows every request of a member of system:masters and has no opinion on others.
func Privileged() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if u := a.GetUser(); u != nil && slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup) {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

// publicInfo are the non-resource URLs of system:public-info-viewer.
var publicInfo = []string{"/healthz", "/livez", "/readyz", "/version", "/version/"}

// discovery are the non-resource URLs of system:discovery ("*" ends a prefix).
var discovery = []string{"/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/"}

// basicUser are the resources of system:basic-user (create only), as group/resource.
var basicUser = []string{"authorization.k8s.io/selfsubjectaccessreviews", "authorization.k8s.io/selfsubjectrulesreviews", "authentication.k8s.io/selfsubjectreviews"}

// PublicInfo lets anyone, anonymous too, get the health and version endpoints (and the health
// endpoints' checks, /healthz/NAME ...). Everything else: no opinion.
func PublicInfo() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.IsResourceRequest() || a.GetVerb() != "get" {
			return authorizer.DecisionNoOpinion, "", nil
		}
		p := a.GetPath()
		if slices.Contains(publicInfo, p) || strings.HasPrefix(p, "/healthz/") || strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/") {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

// Discovery lets authenticated users get the discovery documents (/api, /apis, /openapi,
// /version) and create the self-reviews (who am I, what may I do). Everything else: no opinion.
func Discovery() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		u := a.GetUser()
		if u == nil || !slices.Contains(u.GetGroups(), user.AllAuthenticated) {
			return authorizer.DecisionNoOpinion, "", nil
		}
		if a.IsResourceRequest() {
			if a.GetVerb() == "create" && a.GetSubresource() == "" && slices.Contains(basicUser, a.GetAPIGroup()+"/"+a.GetResource()) {
				return authorizer.DecisionAllow, "", nil
			}
			return authorizer.DecisionNoOpinion, "", nil
		}
		if a.GetVerb() != "get" {
			return authorizer.DecisionNoOpinion, "", nil
		}
		p := a.GetPath()
		for _, d := range discovery {
			if p == d || strings.HasSuffix(d, "*") && strings.HasPrefix(p, strings.TrimSuffix(d, "*")) {
				return authorizer.DecisionAllow, "", nil
			}
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

// Default is Privileged, PublicInfo and Discovery in a union, followed by more (RBAC, the Node
// authorizer ...): the first that allows or denies decides; a request none allows is denied by
// the API server with kube-apiserver's 403.
func Default(more ...authorizer.Authorizer) (authorizer.Authorizer, error) {
	named := []union.NamedAuthorizer{
		{AuthorizerName: "privileged", Authorizer: Privileged()},
		{AuthorizerName: "public-info", Authorizer: PublicInfo()},
		{AuthorizerName: "discovery", Authorizer: Discovery()},
	}
	for i, a := range more {
		if a == nil {
			return nil, fmt.Errorf("authz: authorizer %d is nil", i)
		}
		named = append(named, union.NamedAuthorizer{AuthorizerName: authorizerName(a, i), Authorizer: a})
	}
	return union.New(named...)
}

// authorizerName names a member of Default's union (forbidden reasons start with it): its
// Name() when it has one, else authorizer-N.
func authorizerName(a authorizer.Authorizer, i int) string {
	if n, ok := a.(interface{ Name() string }); ok && n.Name() != "" {
		return n.Name()
	}
	return fmt.Sprintf("authorizer-%d", i)
}
