package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

func TestRuleAllows(t *testing.T) {
	res := func(verb, group, resource, sub, name string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Name: name, ResourceRequest: true}
	}
	path := func(verb, p string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{Verb: verb, Path: p}
	}
	rule := func(verbs, groups, resources, names []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
	}
	s := func(v ...string) []string { return v }
	cases := []struct {
		name string
		rule rbacv1.PolicyRule
		req  authorizer.AttributesRecord
		want bool
	}{
		{"exact", rule(s("get"), s(""), s("pods"), nil), res("get", "", "pods", "", "p"), true},
		{"other verb", rule(s("get"), s(""), s("pods"), nil), res("list", "", "pods", "", ""), false},
		{"verb *", rule(s("*"), s(""), s("pods"), nil), res("delete", "", "pods", "", "p"), true},
		{"other group", rule(s("get"), s("apps"), s("pods"), nil), res("get", "", "pods", "", "p"), false},
		{"group *", rule(s("get"), s("*"), s("deployments"), nil), res("get", "apps", "deployments", "", "d"), true},
		{"resource * covers subresources", rule(s("get"), s(""), s("*"), nil), res("get", "", "pods", "log", "p"), true},
		{"pods does not cover pods/log", rule(s("get"), s(""), s("pods"), nil), res("get", "", "pods", "log", "p"), false},
		{"pods/log does not cover pods", rule(s("get"), s(""), s("pods/log"), nil), res("get", "", "pods", "", "p"), false},
		{"pods/log", rule(s("get"), s(""), s("pods/log"), nil), res("get", "", "pods", "log", "p"), true},
		{"*/status", rule(s("update"), s(""), s("*/status"), nil), res("update", "", "nodes", "status", "n"), true},
		{"*/status not the main resource", rule(s("update"), s(""), s("*/status"), nil), res("update", "", "nodes", "", "n"), false},
		{"named", rule(s("get"), s(""), s("pods"), s("a")), res("get", "", "pods", "", "a"), true},
		{"other name", rule(s("get"), s(""), s("pods"), s("a")), res("get", "", "pods", "", "b"), false},
		{"names never match list", rule(s("list"), s(""), s("pods"), s("a")), res("list", "", "pods", "", ""), false},
		{"url exact", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/healthz")}, path("get", "/healthz"), true},
		{"url exact only", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/healthz")}, path("get", "/healthz/etcd"), false},
		{"url prefix", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/apis/*")}, path("get", "/apis/apps/v1"), true},
		{"url prefix not the bare path", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/apis/*")}, path("get", "/apis"), false},
		{"url *", rbacv1.PolicyRule{Verbs: s("*"), NonResourceURLs: s("*")}, path("post", "/anything"), true},
		{"resource rule never matches a url", rule(s("*"), s("*"), s("*"), nil), path("get", "/healthz"), false},
	}
	for _, c := range cases {
		if got := ruleAllows(c.req, &c.rule); got != c.want {
			t.Errorf("%s: ruleAllows = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAppliesTo(t *testing.T) {
	sa := &user.DefaultInfo{Name: "system:serviceaccount:ns1:robot", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1"}}
	cases := []struct {
		name    string
		subject rbacv1.Subject
		ns      string
		want    bool
	}{
		{"SA with namespace", rbacv1.Subject{Kind: "ServiceAccount", Namespace: "ns1", Name: "robot"}, "", true},
		{"SA defaults to the binding's namespace", rbacv1.Subject{Kind: "ServiceAccount", Name: "robot"}, "ns1", true},
		{"SA of another namespace", rbacv1.Subject{Kind: "ServiceAccount", Name: "robot"}, "ns2", false},
		{"SA without any namespace", rbacv1.Subject{Kind: "ServiceAccount", Name: "robot"}, "", false},
		{"SA group", rbacv1.Subject{Kind: "Group", Name: "system:serviceaccounts:ns1"}, "", true},
		{"user named like the SA", rbacv1.Subject{Kind: "User", Name: "robot"}, "ns1", false},
		{"user full name", rbacv1.Subject{Kind: "User", Name: "system:serviceaccount:ns1:robot"}, "", true},
	}
	for _, c := range cases {
		if got := appliesTo(sa, c.subject, c.ns); got != c.want {
			t.Errorf("%s: appliesTo = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestUnsyncedHasNoOpinion(t *testing.T) {
	a := New()
	d, reason, err := a.Authorize(t.Context(), authorizer.AttributesRecord{User: &user.DefaultInfo{Name: "x"}, Verb: "get", Path: "/healthz"})
	if d != authorizer.DecisionNoOpinion || err != nil || reason == "" {
		t.Fatalf("before Start: %v %q %v, want no opinion with a reason", d, reason, err)
	}
}

func TestPolicyIsValid(t *testing.T) {
	p := Policy()
	roles := map[string]bool{}
	for _, r := range p.ClusterRoles {
		if roles[r.Name] {
			t.Errorf("ClusterRole %s twice", r.Name)
		}
		roles[r.Name] = true
		for i, rule := range r.Rules {
			if len(rule.Verbs) == 0 || (len(rule.Resources) == 0) == (len(rule.NonResourceURLs) == 0) {
				t.Errorf("ClusterRole %s rule %d is malformed: %v", r.Name, i, rule)
			}
		}
	}
	for _, b := range p.ClusterRoleBindings {
		if !roles[b.RoleRef.Name] {
			t.Errorf("ClusterRoleBinding %s binds the unknown ClusterRole %s", b.Name, b.RoleRef.Name)
		}
	}
}
