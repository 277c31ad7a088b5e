package apiserver

import (
	"context"
	"net/http"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Aggregation serves the group-versions of APIServices backed by extension API servers
// (package aggregation implements it).
type Aggregation interface {
	// Proxy serves r, an authorized request under /apis/GROUP/VERSION, and reports true when
	// an extension server's APIService claims gv; false leaves the request to the server.
	Proxy(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) bool
	// Groups are the legacy discovery groups of the service-backed APIServices.
	Groups() []metav1.APIGroup
	// Group is the legacy discovery group name when service-backed APIServices serve it.
	Group(name string) *metav1.APIGroup
	// Discovery is the aggregated discovery of the available ones.
	Discovery(ctx context.Context) []apidiscoveryv2.APIGroupDiscovery
}

// proxyAggregated hands /apis/GROUP/VERSION[/...] to Config.Aggregation and reports whether it
// served the request.
func (s *Server) proxyAggregated(w http.ResponseWriter, r *http.Request, path string) bool {
	if s.cfg.Aggregation == nil || !strings.HasPrefix(path, "/apis/") {
		return false
	}
	segs := strings.SplitN(strings.TrimPrefix(path, "/apis/"), "/", 3)
	if len(segs) < 2 || segs[0] == "" || segs[1] == "" {
		return false
	}
	return s.cfg.Aggregation.Proxy(w, r, schema.GroupVersion{Group: segs[0], Version: segs[1]})
}

// aggregatedGroups appends the service-backed groups the server does not serve itself.
func (s *Server) aggregatedGroups(list *metav1.APIGroupList) {
	if s.cfg.Aggregation == nil {
		return
	}
	have := map[string]bool{}
	for _, g := range list.Groups {
		have[g.Name] = true
	}
	for _, g := range s.cfg.Aggregation.Groups() {
		if !have[g.Name] {
			list.Groups = append(list.Groups, g)
		}
	}
}

// aggregatedDiscovery appends the available service-backed groups the server does not serve
// itself.
func (s *Server) aggregatedDiscovery(ctx context.Context, list *apidiscoveryv2.APIGroupDiscoveryList) {
	if s.cfg.Aggregation == nil {
		return
	}
	have := map[string]bool{}
	for _, g := range list.Items {
		have[g.Name] = true
	}
	for _, g := range s.cfg.Aggregation.Discovery(ctx) {
		if !have[g.Name] {
			list.Items = append(list.Items, g)
		}
	}
}
