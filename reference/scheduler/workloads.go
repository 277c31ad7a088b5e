package scheduler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// workloadSelectors finds the workloads selecting a pod for
// PodTopologySpread's system default constraints, from the informers of the
// running scheduler (none before Run: every pod then gets no selector).
type workloadSelectors struct {
	mu       sync.RWMutex
	services corelisters.ServiceLister
	rcs      corelisters.ReplicationControllerLister
	rss      appslisters.ReplicaSetLister
	sss      appslisters.StatefulSetLister
}

var _ plugins.WorkloadSelectors = (*workloadSelectors)(nil)

// watch starts listing Services, ReplicationControllers, ReplicaSets and
// StatefulSets through the factory and returns what to wait for.
func (w *workloadSelectors) watch(f informers.SharedInformerFactory) []cache.InformerSynced {
	svc, rc := f.Core().V1().Services(), f.Core().V1().ReplicationControllers()
	rs, ss := f.Apps().V1().ReplicaSets(), f.Apps().V1().StatefulSets()
	w.mu.Lock()
	w.services, w.rcs, w.rss, w.sss = svc.Lister(), rc.Lister(), rs.Lister(), ss.Lister()
	w.mu.Unlock()
	return []cache.InformerSynced{svc.Informer().HasSynced, rc.Informer().HasSynced, rs.Informer().HasSynced, ss.Informer().HasSynced}
}

// Selector is kube-scheduler's default selector: the labels every Service
// of the pod's namespace selecting the pod selects, plus the selector of
// the ReplicationController, ReplicaSet or StatefulSet controlling it.
func (w *workloadSelectors) Selector(pod *corev1.Pod) labels.Selector {
	w.mu.RLock()
	services, rcs, rss, sss := w.services, w.rcs, w.rss, w.sss
	w.mu.RUnlock()
	if services == nil {
		return nil
	}
	set := labels.Set{}
	if list, err := services.Services(pod.Namespace).List(labels.Everything()); err == nil {
		for _, s := range list {
			// A Service without a selector selects nothing.
			if s.Spec.Selector != nil && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				set = labels.Merge(set, s.Spec.Selector)
			}
		}
	}
	sel := labels.SelectorFromSet(set)
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil {
		return sel
	}
	var ls *metav1.LabelSelector
	switch {
	case owner.APIVersion == "v1" && owner.Kind == "ReplicationController":
		if rc, err := rcs.ReplicationControllers(pod.Namespace).Get(owner.Name); err == nil {
			return labels.SelectorFromSet(labels.Merge(set, rc.Spec.Selector))
		}
	case owner.APIVersion == "apps/v1" && owner.Kind == "ReplicaSet":
		if rs, err := rss.ReplicaSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = rs.Spec.Selector
		}
	case owner.APIVersion == "apps/v1" && owner.Kind == "StatefulSet":
		if ss, err := sss.StatefulSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = ss.Spec.Selector
		}
	}
	if ls != nil {
		if other, err := metav1.LabelSelectorAsSelector(ls); err == nil {
			if reqs, ok := other.Requirements(); ok {
				sel = sel.Add(reqs...)
			}
		}
	}
	return sel
}
