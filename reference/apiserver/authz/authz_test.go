package authz_test

import (
	"context"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/clusterkit/clusterkit/reference/apiserver/authz"
)

var (
	admin     = &user.DefaultInfo{Name: "kubernetes-admin", Groups: []string{"system:masters", user.AllAuthenticated}}
	alice     = &user.DefaultInfo{Name: "alice", Groups: []string{user.AllAuthenticated}}
	anonymous = &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}}
)

func path(u user.Info, verb, p string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{User: u, Verb: verb, Path: p}
}

func resource(u user.Info, verb, group, res string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{User: u, Verb: verb, APIGroup: group, Resource: res, Namespace: "default", ResourceRequest: true}
}

func TestDefault(t *testing.T) {
	z, err := authz.Default()
	if err != nil {
		t.Fatal(err)
	}
	allow, none := authorizer.DecisionAllow, authorizer.DecisionNoOpinion
	cases := []struct {
		attrs authorizer.AttributesRecord
		want  authorizer.Decision
	}{
		{resource(admin, "delete", "", "pods"), allow},
		{path(admin, "get", "/metrics"), allow},
		{resource(alice, "list", "", "pods"), none},
		{resource(anonymous, "create", "", "configmaps"), none},
		{path(anonymous, "get", "/healthz"), allow},
		{path(anonymous, "get", "/readyz/etcd"), allow},
		{path(anonymous, "get", "/version"), allow},
		{path(anonymous, "post", "/healthz"), none},
		{path(anonymous, "get", "/api"), none},
		{path(anonymous, "get", "/apis/apps/v1"), none},
		{path(alice, "get", "/api"), allow},
		{path(alice, "get", "/apis/apps/v1"), allow},
		{path(alice, "get", "/openapi/v3/api/v1"), allow},
		{path(alice, "get", "/metrics"), none},
		{path(alice, "get", "/healthz"), allow},
		{resource(alice, "create", "authorization.k8s.io", "selfsubjectaccessreviews"), allow},
		{resource(alice, "create", "authentication.k8s.io", "selfsubjectreviews"), allow},
		{resource(alice, "create", "authorization.k8s.io", "subjectaccessreviews"), none},
		{resource(anonymous, "create", "authorization.k8s.io", "selfsubjectaccessreviews"), none},
	}
	for _, c := range cases {
		got, _, err := z.Authorize(context.Background(), c.attrs)
		if err != nil || got != c.want {
			t.Errorf("%s %s %s%s: %v %v, want %v", c.attrs.User.GetName(), c.attrs.Verb, c.attrs.Path, c.attrs.Resource, got, err, c.want)
		}
	}
}

func TestPrivilegedLeavesOthersToTheNext(t *testing.T) {
	deny := authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionDeny, "denied by the next", nil
	})
	z, err := authz.Default(deny)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := z.Authorize(context.Background(), resource(admin, "list", "", "pods")); got != authorizer.DecisionAllow {
		t.Errorf("system:masters: %v", got)
	}
	if got, reason, _ := z.Authorize(context.Background(), resource(alice, "list", "", "pods")); got != authorizer.DecisionDeny || reason != "denied by the next" {
		t.Errorf("alice: %v %q, want the next authorizer's deny", got, reason)
	}
	if got, _, _ := authz.Privileged().Authorize(context.Background(), resource(alice, "list", "", "pods")); got != authorizer.DecisionNoOpinion {
		t.Errorf("Privileged on alice: %v, want NoOpinion", got)
	}
	if _, err := authz.Default(nil); err == nil {
		t.Error("a nil authorizer was accepted")
	}
}
