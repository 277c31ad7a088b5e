package validation

import (
	"sort"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func fieldsOf(obj runtime.Object, old runtime.Object) []string {
	Default(obj)
	errs := ValidateCreate(obj)
	if old != nil {
		Default(old)
		errs = ValidateUpdate(obj, old)
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	sort.Strings(out)
	return out
}

func TestRBACValidation(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "system:x", Namespace: "ns"}
	cmeta := metav1.ObjectMeta{Name: "system:x"}
	ref := rbacv1.RoleRef{Kind: "Role", Name: "r"}
	cases := []struct {
		name string
		obj  runtime.Object
		old  runtime.Object
		want []string
	}{
		{"valid role with a colon in its name", &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}, nil, nil},
		{"rule without verbs, groups, resources", &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{}}}, nil,
			[]string{"rules[0].apiGroups", "rules[0].resources", "rules[0].verbs"}},
		{"urls in a Role", &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/x"}}}}, nil,
			[]string{"rules[0].nonResourceURLs"}},
		{"urls and resources", &rbacv1.ClusterRole{ObjectMeta: cmeta, Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, Resources: []string{"pods"}, NonResourceURLs: []string{"/x"}}}}, nil,
			[]string{"rules[0].nonResourceURLs"}},
		{"urls in a ClusterRole", &rbacv1.ClusterRole{ObjectMeta: cmeta, Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/x/*"}}}}, nil, nil},
		{"empty aggregation rule", &rbacv1.ClusterRole{ObjectMeta: cmeta, AggregationRule: &rbacv1.AggregationRule{}}, nil,
			[]string{"aggregationRule.clusterRoleSelectors"}},
		{"binding defaults apiGroups", &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref,
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "u"}, {Kind: "Group", Name: "g"}, {Kind: "ServiceAccount", Name: "sa"}}}, nil, nil},
		{"bad roleRef and subjects", &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: rbacv1.RoleRef{APIGroup: "x", Kind: "Pod"},
			Subjects: []rbacv1.Subject{{Kind: "Robot", Name: "r"}, {Kind: "ServiceAccount", APIGroup: "x", Name: "Bad_Name"}, {Kind: "User"}}}, nil,
			[]string{"roleRef.apiGroup", "roleRef.kind", "roleRef.name", "subjects[0].kind", "subjects[1].apiGroup", "subjects[1].name", "subjects[2].name"}},
		{"ClusterRoleBinding to a Role, SA without namespace", &rbacv1.ClusterRoleBinding{ObjectMeta: cmeta, RoleRef: ref,
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa"}}}, nil,
			[]string{"roleRef.kind", "subjects[0].namespace"}},
		{"roleRef immutable", &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", ResourceVersion: "1"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "other"}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", ResourceVersion: "1"}, RoleRef: ref}, []string{"roleRef"}},
	}
	for _, c := range cases {
		got := fieldsOf(c.obj, c.old)
		if len(got) != len(c.want) {
			t.Errorf("%s: fields %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: fields %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}
