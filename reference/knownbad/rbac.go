package knownbad

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"

	"github.com/clusterkit/clusterkit/reference/apiserver/rbac"
)

// RBACIgnoringRoleBindingNamespace wraps the reference RBAC authorizer so that a RoleBinding
// grants in every namespace: a request in one namespace is allowed when it would be allowed in
// any namespace holding a RoleBinding, as an authorizer that matched bindings by subject alone
// would. Use it with harness.RBACAuth.
func RBACIgnoringRoleBindingNamespace(r *rbac.Authorizer, factory informers.SharedInformerFactory) rbac.RBAC {
	inf := factory.Rbac().V1().RoleBindings()
	inf.Informer() // registered now, started with the authorizer's informers
	return &namespaceBlindRBAC{Authorizer: r, bindings: inf.Lister()}
}

type namespaceBlindRBAC struct {
	*rbac.Authorizer
	bindings rbaclisters.RoleBindingLister
}

func (n *namespaceBlindRBAC) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	d, reason, err := n.Authorizer.Authorize(ctx, a)
	if d == authorizer.DecisionAllow || a.GetNamespace() == "" {
		return d, reason, err
	}
	all, lerr := n.bindings.List(labels.Everything())
	if lerr != nil {
		return d, reason, err
	}
	tried := map[string]bool{a.GetNamespace(): true}
	for _, b := range all {
		if tried[b.Namespace] {
			continue
		}
		tried[b.Namespace] = true
		elsewhere := authorizer.AttributesRecord{
			User: a.GetUser(), Verb: a.GetVerb(), Namespace: b.Namespace, APIGroup: a.GetAPIGroup(),
			APIVersion: a.GetAPIVersion(), Resource: a.GetResource(), Subresource: a.GetSubresource(),
			Name: a.GetName(), ResourceRequest: a.IsResourceRequest(), Path: a.GetPath(),
		}
		if d2, reason2, err2 := n.Authorizer.Authorize(ctx, elsewhere); d2 == authorizer.DecisionAllow {
			return d2, reason2, err2
		}
	}
	return d, reason, err
}

func (n *namespaceBlindRBAC) ConditionsAwareAuthorize(ctx context.Context, a authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(n.Authorize(ctx, a))
}
