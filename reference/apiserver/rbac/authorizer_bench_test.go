package rbac

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// startWithPolicy returns an Authorizer synced on the bootstrap policy (the aggregated roles'
// rules filled in, as the aggregation controller does), plus more objects.
func startWithPolicy(tb testing.TB, more ...runtime.Object) *Authorizer {
	tb.Helper()
	p := Policy()
	var objs []runtime.Object
	for i := range p.ClusterRoles {
		r := p.ClusterRoles[i].DeepCopy()
		if r.AggregationRule != nil {
			for _, sel := range r.AggregationRule.ClusterRoleSelectors {
				s, err := metav1.LabelSelectorAsSelector(&sel)
				if err != nil {
					tb.Fatal(err)
				}
				for _, o := range p.ClusterRoles {
					if o.Name != r.Name && s.Matches(labels.Set(o.Labels)) {
						r.Rules = append(r.Rules, o.Rules...)
					}
				}
			}
		}
		objs = append(objs, r)
	}
	for i := range p.ClusterRoleBindings {
		objs = append(objs, p.ClusterRoleBindings[i].DeepCopy())
	}
	objs = append(objs, more...)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	a := New()
	if err := a.StartInformers(ctx, informers.NewSharedInformerFactory(fake.NewClientset(objs...), 0)); err != nil {
		tb.Fatal(err)
	}
	return a
}

// BenchmarkAuthorize measures one RBAC decision on the bootstrap policy: a ServiceAccount
// allowed by a RoleBinding to edit (what BenchmarkCreateAccess's closed-sa line asks on every
// create) and a user nothing allows.
func BenchmarkAuthorize(b *testing.B) {
	a := startWithPolicy(b, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-edit", Namespace: "default"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: "bench"}},
	})
	sa := &user.DefaultInfo{Name: serviceaccount.MakeUsername("default", "bench"),
		Groups: append(serviceaccount.MakeGroupNames("default"), user.AllAuthenticated)}
	for _, tc := range []struct {
		name string
		u    user.Info
		want authorizer.Decision
	}{
		{"serviceaccount-edit", sa, authorizer.DecisionAllow},
		{"nobody", &user.DefaultInfo{Name: "nobody", Groups: []string{user.AllAuthenticated}}, authorizer.DecisionNoOpinion},
	} {
		attrs := authorizer.AttributesRecord{User: tc.u, Verb: "create", Namespace: "default", Resource: "configmaps", ResourceRequest: true, Path: "/api/v1/namespaces/default/configmaps"}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d, reason, _ := a.Authorize(context.Background(), attrs); d != tc.want {
					b.Fatalf("decision %v (%s), want %v", d, reason, tc.want)
				}
			}
		})
	}
}
