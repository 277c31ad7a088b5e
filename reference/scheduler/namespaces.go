package scheduler

import (
	"sync/atomic"

	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// namespaceSource is the interfaces.NamespaceLister the framework hands its
// plugins: empty (no Namespace known) until Run, or a component through
// Framework.UseNamespaces, backs it with a view of the cluster's
// Namespaces — the framework is built without dialing.
type namespaceSource struct {
	view atomic.Pointer[namespaceView]
}

type namespaceView struct{ l interfaces.NamespaceLister }

var _ interfaces.NamespaceLister = (*namespaceSource)(nil)

// NamespaceLabels implements interfaces.NamespaceLister.
func (s *namespaceSource) NamespaceLabels(name string) (map[string]string, bool) {
	v := s.view.Load()
	if v == nil || v.l == nil {
		return nil, false
	}
	return v.l.NamespaceLabels(name)
}

// NamespacesMatching implements interfaces.NamespaceLister.
func (s *namespaceSource) NamespacesMatching(sel labels.Selector) []string {
	v := s.view.Load()
	if v == nil || v.l == nil {
		return nil
	}
	return v.l.NamespacesMatching(sel)
}

// UseNamespaces implements interfaces.NamespaceUser: the plugins read
// Namespaces from l from now on (nil: none known).
func (f *Framework) UseNamespaces(l interfaces.NamespaceLister) {
	f.ns.view.Store(&namespaceView{l: l})
}

var _ interfaces.NamespaceUser = (*Framework)(nil)

// NamespaceListerOf adapts a Namespace informer's lister to an
// interfaces.NamespaceLister.
func NamespaceListerOf(l corelisters.NamespaceLister) interfaces.NamespaceLister {
	return informerNamespaces{l}
}

type informerNamespaces struct{ l corelisters.NamespaceLister }

func (n informerNamespaces) NamespaceLabels(name string) (map[string]string, bool) {
	ns, err := n.l.Get(name)
	if err != nil {
		return nil, false
	}
	return ns.Labels, true
}

func (n informerNamespaces) NamespacesMatching(sel labels.Selector) []string {
	list, err := n.l.List(sel)
	if err != nil {
		return nil
	}
	names := make([]string, len(list))
	for i, ns := range list {
		names[i] = ns.Name
	}
	return names
}
