package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// appliesTo reports whether a subject of a binding in bindingNamespace ("" for a
// ClusterRoleBinding) names u. A ServiceAccount subject without a namespace means the binding's.
func appliesTo(u user.Info, s rbacv1.Subject, bindingNamespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return u.GetName() == s.Name
	case rbacv1.GroupKind:
		for _, g := range u.GetGroups() {
			if g == s.Name {
				return true
			}
		}
		return false
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		if ns == "" {
			return false
		}
		return serviceaccount.MatchesUsername(ns, s.Name, u.GetName())
	}
	return false
}

// appliesToAny reports whether any subject names u.
func appliesToAny(u user.Info, subjects []rbacv1.Subject, bindingNamespace string) (rbacv1.Subject, bool) {
	for _, s := range subjects {
		if appliesTo(u, s, bindingNamespace) {
			return s, true
		}
	}
	return rbacv1.Subject{}, false
}

// ruleAllows reports whether one policy rule allows the request.
func ruleAllows(a authorizer.Attributes, rule *rbacv1.PolicyRule) bool {
	if !matchesAllOr(rule.Verbs, rbacv1.VerbAll, a.GetVerb()) {
		return false
	}
	if !a.IsResourceRequest() {
		return nonResourceURLMatches(rule.NonResourceURLs, a.GetPath())
	}
	resource := a.GetResource()
	if a.GetSubresource() != "" {
		resource += "/" + a.GetSubresource()
	}
	return matchesAllOr(rule.APIGroups, rbacv1.APIGroupAll, a.GetAPIGroup()) &&
		resourceMatches(rule.Resources, resource, a.GetSubresource()) &&
		resourceNameMatches(rule.ResourceNames, a.GetName())
}

// matchesAllOr reports whether set holds all or want.
func matchesAllOr(set []string, all, want string) bool {
	for _, s := range set {
		if s == all || s == want {
			return true
		}
	}
	return false
}

// resourceMatches: "*" matches every resource and subresource, "pods/log" only that
// subresource, "*/log" the log subresource of every resource; "pods" never matches pods/log.
func resourceMatches(ruleResources []string, combined, subresource string) bool {
	for _, r := range ruleResources {
		if r == rbacv1.ResourceAll || r == combined {
			return true
		}
		if subresource != "" && r == "*/"+subresource {
			return true
		}
	}
	return false
}

// resourceNameMatches: a rule without resourceNames matches every name; one with names only a
// request for one of them (never a request without a name: list, watch, create).
func resourceNameMatches(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// nonResourceURLMatches: "*" matches every path, "/x/*" every path starting with "/x/", any
// other rule only its exact path.
func nonResourceURLMatches(urls []string, path string) bool {
	for _, u := range urls {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

// RulesAllow reports whether any of rules allows the request (the Node authorizer evaluates
// the system:node rules with it).
func RulesAllow(a authorizer.Attributes, rules ...rbacv1.PolicyRule) bool {
	for i := range rules {
		if ruleAllows(a, &rules[i]) {
			return true
		}
	}
	return false
}
