package scheduler

import (
	"sync/atomic"

	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// namespaceSource is the interfaces.NamespaceLister the framework hands its
// plugins: empty until Run backs it with its Namespace informer (the
// framework is built without dialing), and for a Framework used on its own.
type namespaceSource struct {
	lister atomic.Pointer[corelisters.NamespaceLister]
}

var _ interfaces.NamespaceLister = (*namespaceSource)(nil)

// set backs the source with an informer's lister.
func (s *namespaceSource) set(l corelisters.NamespaceLister) { s.lister.Store(&l) }

// NamespaceLabels implements interfaces.NamespaceLister.
func (s *namespaceSource) NamespaceLabels(name string) (map[string]string, bool) {
	l := s.lister.Load()
	if l == nil {
		return nil, false
	}
	ns, err := (*l).Get(name)
	if err != nil {
		return nil, false
	}
	return ns.Labels, true
}

// NamespacesMatching implements interfaces.NamespaceLister.
func (s *namespaceSource) NamespacesMatching(sel labels.Selector) []string {
	l := s.lister.Load()
	if l == nil {
		return nil
	}
	list, err := (*l).List(sel)
	if err != nil {
		return nil
	}
	names := make([]string, len(list))
	for i, ns := range list {
		names[i] = ns.Name
	}
	return names
}
