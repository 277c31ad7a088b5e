package registry

import (
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// groupResources are the built-in groups beyond core, apps, coordination, discovery, rbac and
// the reviews: scheduling.k8s.io, policy, batch, node.k8s.io, certificates.k8s.io and
// flowcontrol.apiserver.k8s.io, with short names and categories as kube-apiserver lists them.
func groupResources() []*Resource {
	return []*Resource{priorityClasses(), podDisruptionBudgets()}
}

func priorityClasses() *Resource {
	gv := schedulingv1.SchemeGroupVersion
	return &Resource{
		GroupVersionResource: gv.WithResource("priorityclasses"), Singular: "priorityclass",
		Kind: "PriorityClass", ListKind: "PriorityClassList", Strategy: validation.PriorityClassKind(),
		ShortNames: []string{"pc"}, Verbs: CRUDVerbs(),
		New: func() runtime.Object { return &schedulingv1.PriorityClass{} }, NewList: func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		Bootstrap: func() []runtime.Object {
			var out []runtime.Object
			for _, pc := range validation.SystemPriorityClasses() {
				out = append(out, pc)
			}
			return out
		},
		DeleteForbidden: func(name string) string {
			if validation.IsSystemPriorityClass(name) {
				return "this is a system priority class and cannot be deleted"
			}
			return ""
		},
	}
}

func podDisruptionBudgets() *Resource {
	return &Resource{
		GroupVersionResource: policyV1.WithResource("poddisruptionbudgets"), Singular: "poddisruptionbudget", Namespaced: true,
		Kind: "PodDisruptionBudget", ListKind: "PodDisruptionBudgetList", Strategy: validation.PodDisruptionBudgetKind(),
		ShortNames: []string{"pdb"}, Verbs: CRUDVerbs(),
		Subresources: []Subresource{statusSub(policyV1.WithKind("PodDisruptionBudget"))},
		New:          func() runtime.Object { return &policyv1.PodDisruptionBudget{} }, NewList: func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		StatusSplit: true,
	}
}
