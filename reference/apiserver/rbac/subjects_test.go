package rbac

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestBindingsBySubject: the subject index finds exactly the bindings appliesTo matches (users,
// groups, ServiceAccounts with and without a namespace, a User subject named like a
// ServiceAccount), each once, and follows bindings' updates.
func TestBindingsBySubject(t *testing.T) {
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns1"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}}}
	crole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "nodes"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"nodes"}}}}
	rb := func(name, ns string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "cm"}, Subjects: subjects}
	}
	crb := func(name string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "nodes"}, Subjects: subjects}
	}
	sa := func(ns, name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
	}
	client := fake.NewClientset(role, crole,
		rb("sa-implicit-ns", "ns1", sa("", "robot")),
		rb("sa-other-ns", "ns1", sa("ns2", "robot")),
		rb("user-and-group", "ns1", userSubject("alice"), groupSubject("devs")),
		rb("elsewhere", "ns2", userSubject("alice")),
		crb("crb-sa-no-ns", sa("", "robot")),
		crb("crb-sa-as-user", userSubject("system:serviceaccount:ns2:robot")),
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a := New()
	if err := a.StartInformers(ctx, informers.NewSharedInformerFactory(client, 0)); err != nil {
		t.Fatal(err)
	}
	robot1 := &user.DefaultInfo{Name: "system:serviceaccount:ns1:robot", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1"}}
	robot2 := &user.DefaultInfo{Name: "system:serviceaccount:ns2:robot", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns2"}}
	alice := &user.DefaultInfo{Name: "alice", Groups: []string{"devs"}}
	bob := &user.DefaultInfo{Name: "bob", Groups: []string{"devs"}}
	getCM := func(u user.Info) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: "get", Namespace: "ns1", Resource: "configmaps", Name: "x", ResourceRequest: true}
	}
	listNodes := func(u user.Info) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: "list", Resource: "nodes", ResourceRequest: true}
	}
	for _, c := range []struct {
		name   string
		attrs  authorizer.AttributesRecord
		reason string // "" for no opinion
	}{
		{"SA subject defaults to the RoleBinding's namespace", getCM(robot1), `RBAC: allowed by RoleBinding "sa-implicit-ns/ns1" of Role "cm" to ServiceAccount "robot/ns1"`},
		{"SA subject of another namespace", getCM(robot2), `RBAC: allowed by RoleBinding "sa-other-ns/ns1" of Role "cm" to ServiceAccount "robot/ns2"`},
		{"group", getCM(bob), `RBAC: allowed by RoleBinding "user-and-group/ns1" of Role "cm" to Group "devs"`},
		{"SA subject without namespace in a ClusterRoleBinding names nobody", listNodes(robot1), ""},
		{"User subject named like a ServiceAccount", listNodes(robot2), `RBAC: allowed by ClusterRoleBinding "crb-sa-as-user" of ClusterRole "nodes" to User "system:serviceaccount:ns2:robot"`},
		{"RoleBinding of another namespace", listNodes(alice), ""},
	} {
		d, reason, err := a.Authorize(ctx, c.attrs)
		if err != nil || (c.reason == "") != (d == authorizer.DecisionNoOpinion) || reason != c.reason {
			t.Errorf("%s: %v %q %v, want %q", c.name, d, reason, err, c.reason)
		}
	}
	// alice is named twice by user-and-group: its rules come once.
	if rules, errs := a.rulesFor(alice, "ns1"); len(rules) != 1 || len(errs) != 0 {
		t.Errorf("alice's rules in ns1: %v %v, want the one rule of cm", rules, errs)
	}
	// Updates move the index: bob's group leaves the binding.
	b := rb("user-and-group", "ns1", userSubject("alice"))
	if _, err := client.RbacV1().RoleBindings("ns1").Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, _, _ := a.Authorize(ctx, getCM(bob))
		if d == authorizer.DecisionNoOpinion {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob is still allowed after his group left the binding")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d, reason, _ := a.Authorize(ctx, getCM(alice)); d != authorizer.DecisionAllow || !strings.Contains(reason, `to User "alice"`) {
		t.Errorf("alice after the update: %v %q", d, reason)
	}
	if keys := subjectKeys([]rbacv1.Subject{{Kind: "Unknown", Name: "x"}, sa("", "robot")}, ""); !slices.Equal(keys, []string{}) {
		t.Errorf("keys of subjects that name nobody: %q", keys)
	}
}
