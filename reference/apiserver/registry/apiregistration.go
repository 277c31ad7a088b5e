package registry

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// apiServices is apiregistration.k8s.io/v1 APIService, bootstrapped with the local
// APIService of every built-in group-version among served (v1., v1.apps, ...), as
// kube-apiserver's autoregistration creates them. The server does not proxy to extension
// API servers: an APIService naming a service is stored, not served.
func apiServices(served []*Resource) *Resource {
	gv := apiregistrationv1.SchemeGroupVersion
	var gvs []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	for _, r := range served {
		if g := r.GroupVersion(); !seen[g] {
			seen[g] = true
			gvs = append(gvs, g)
		}
	}
	sort.Slice(gvs, func(i, j int) bool { return gvs[i].String() < gvs[j].String() })
	return &Resource{
		GroupVersionResource: gv.WithResource("apiservices"), Singular: "apiservice",
		Kind: "APIService", ListKind: "APIServiceList", Strategy: validation.APIServiceKind(), Categories: []string{"api-extensions"}, Verbs: CRUDVerbs(),
		Subresources: []Subresource{statusSub(gv.WithKind("APIService"))},
		New:          func() runtime.Object { return &apiregistrationv1.APIService{} }, NewList: func() runtime.Object { return &apiregistrationv1.APIServiceList{} },
		StatusSplit: true,
		Bootstrap: func() []runtime.Object {
			var out []runtime.Object
			for _, g := range gvs {
				if a := validation.LocalAPIService(g); a != nil {
					out = append(out, a)
				}
			}
			return out
		},
	}
}
