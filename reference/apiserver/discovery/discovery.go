package discovery

import (
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// AggregatedContentType returns the exact Content-Type of an aggregated discovery response of the
// given apidiscovery version (v2 or v2beta1).
func AggregatedContentType(version string) string {
	return "application/json;g=apidiscovery.k8s.io;v=" + version + ";as=APIGroupDiscoveryList"
}

// Aggregated returns the aggregated discovery document of the core group (core true: /api) or of
// the named groups (core false: /apis). version sets the document's apiVersion (v2 or v2beta1).
func Aggregated(reg *registry.Registry, core bool, version string) *apidiscoveryv2.APIGroupDiscoveryList {
	out := &apidiscoveryv2.APIGroupDiscoveryList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/" + version},
		Items:    []apidiscoveryv2.APIGroupDiscovery{},
	}
	groups := map[string]int{}
	for _, gv := range reg.GroupVersions() {
		if (gv.Group == "") != core {
			continue
		}
		idx, ok := groups[gv.Group]
		if !ok {
			idx = len(out.Items)
			groups[gv.Group] = idx
			out.Items = append(out.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}})
		}
		v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, res := range reg.InGroupVersion(gv) {
			v.Resources = append(v.Resources, aggregatedResource(res))
		}
		out.Items[idx].Versions = append(out.Items[idx].Versions, v)
	}
	return out
}

func aggregatedResource(res *registry.Resource) apidiscoveryv2.APIResourceDiscovery {
	scope := apidiscoveryv2.ScopeCluster
	if res.Namespaced {
		scope = apidiscoveryv2.ScopeNamespace
	}
	d := apidiscoveryv2.APIResourceDiscovery{
		Resource:         res.Resource,
		ResponseKind:     &metav1.GroupVersionKind{Kind: res.Kind},
		Scope:            scope,
		SingularResource: res.Singular,
		Verbs:            append([]string(nil), res.Verbs...),
		ShortNames:       append([]string(nil), res.ShortNames...),
		Categories:       append([]string(nil), res.Categories...),
	}
	for _, sub := range res.Subresources {
		// As kube-apiserver: the response kind names a group and version only when they are
		// not the resource's own (a scale subresource's autoscaling/v1 Scale).
		kind := metav1.GroupVersionKind{Kind: sub.Kind}
		if sub.GroupVersion() != res.GroupVersion() {
			kind.Group, kind.Version = sub.Group, sub.Version
		}
		d.Subresources = append(d.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource:  sub.Name,
			ResponseKind: &kind,
			Verbs:        append([]string(nil), sub.Verbs...),
		})
	}
	return d
}

// APIVersions is the legacy /api document.
func APIVersions(serverAddress string) *metav1.APIVersions {
	return &metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		Versions: []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: serverAddress},
		},
	}
}

// APIGroup returns the legacy document of one named group, or nil when it is not served.
func APIGroup(reg *registry.Registry, group string) *metav1.APIGroup {
	var g *metav1.APIGroup
	for _, gv := range reg.GroupVersions() {
		if gv.Group != group || group == "" {
			continue
		}
		if g == nil {
			g = &metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: group}
		}
		gvd := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		g.Versions = append(g.Versions, gvd)
		if g.PreferredVersion.Version == "" {
			g.PreferredVersion = gvd
		}
	}
	return g
}

// APIGroupList is the legacy /apis document.
func APIGroupList(reg *registry.Registry) *metav1.APIGroupList {
	out := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}}
	seen := map[string]bool{}
	for _, gv := range reg.GroupVersions() {
		if gv.Group == "" || seen[gv.Group] {
			continue
		}
		seen[gv.Group] = true
		out.Groups = append(out.Groups, *APIGroup(reg, gv.Group))
	}
	return out
}

// ResourceList returns the legacy APIResourceList of one group version, or nil when not served.
func ResourceList(reg *registry.Registry, gv schema.GroupVersion) *metav1.APIResourceList {
	resources := reg.InGroupVersion(gv)
	if len(resources) == 0 {
		return nil
	}
	out := &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: gv.String(),
		APIResources: []metav1.APIResource{},
	}
	for _, res := range resources {
		out.APIResources = append(out.APIResources, metav1.APIResource{
			Name:         res.Resource,
			SingularName: res.Singular,
			Namespaced:   res.Namespaced,
			Kind:         res.Kind,
			Verbs:        metav1.Verbs(append([]string(nil), res.Verbs...)),
			ShortNames:   append([]string(nil), res.ShortNames...),
			Categories:   append([]string(nil), res.Categories...),
		})
		for _, sub := range res.Subresources {
			r := metav1.APIResource{
				Name:       res.Resource + "/" + sub.Name,
				Namespaced: res.Namespaced,
				Kind:       sub.Kind,
				Verbs:      metav1.Verbs(append([]string(nil), sub.Verbs...)),
			}
			if sub.GroupVersion() != gv {
				r.Group, r.Version = sub.Group, sub.Version
			}
			out.APIResources = append(out.APIResources, r)
		}
	}
	return out
}
