package knownbad

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// affinityIgnoringExisting is InterPodAffinity that never looks at the
// bound pods' own terms: it hands the real plugin nodes without their
// PodsWithAffinity lists, as a plugin that only evaluates the new pod's
// terms would. The new pod's affinity and anti-affinity still work.
type affinityIgnoringExisting struct {
	inner *plugins.InterPodAffinity
}

const affinityIgnoringExistingName = "InterPodAffinityIgnoringExistingPods"

var (
	_ interfaces.PreFilterPlugin = affinityIgnoringExisting{}
	_ interfaces.PreScorePlugin  = affinityIgnoringExisting{}
	_ interfaces.PodEventsPlugin = affinityIgnoringExisting{}
)

func (affinityIgnoringExisting) Name() string { return affinityIgnoringExistingName }

func (affinityIgnoringExisting) RetryOnPodChange() bool { return true }

// withoutAffinityPods returns shallow copies of the nodes that list no pod
// with affinity.
func withoutAffinityPods(nodes []*interfaces.NodeInfo) []*interfaces.NodeInfo {
	out := make([]*interfaces.NodeInfo, len(nodes))
	for i, n := range nodes {
		if n == nil {
			continue
		}
		cp := *n
		cp.PodsWithAffinity = nil
		out[i] = &cp
	}
	return out
}

func (a affinityIgnoringExisting) PreFilter(ctx context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (interfaces.PodFilter, *interfaces.Status) {
	return a.inner.PreFilter(ctx, pod, withoutAffinityPods(nodes))
}

func (a affinityIgnoringExisting) PreScore(ctx context.Context, pod *corev1.Pod, feasible, all []*interfaces.NodeInfo) (interfaces.PodScorer, *interfaces.Status) {
	return a.inner.PreScore(ctx, pod, feasible, withoutAffinityPods(all))
}

// SchedulerIgnoringExistingAntiAffinity is the reference scheduler whose
// inter-pod affinity checks only the new pod's own terms: a bound pod's
// required anti-affinity does not keep a pod it matches out of its domain
// (the symmetry kube-scheduler keeps), and bound pods' preferred terms do
// not count.
func SchedulerIgnoringExistingAntiAffinity(cfg *rest.Config, name string) (interfaces.Component, error) {
	p := scheduler.DefaultProfile(interfaces.LeastAllocated)
	for i, f := range p.Filters {
		if f == plugins.InterPodAffinityName {
			p.Filters[i] = affinityIgnoringExistingName
		}
	}
	if w, ok := p.Scores[plugins.InterPodAffinityName]; ok {
		delete(p.Scores, plugins.InterPodAffinityName)
		p.Scores[affinityIgnoringExistingName] = w
	}
	reg := interfaces.Registry{}
	if err := reg.Register(affinityIgnoringExistingName, func(h interfaces.Handle) (interfaces.Plugin, error) {
		pl, err := plugins.NewInterPodAffinity(h)
		if err != nil {
			return nil, err
		}
		return affinityIgnoringExisting{inner: pl.(*plugins.InterPodAffinity)}, nil
	}); err != nil {
		return nil, err
	}
	return scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p, Plugins: reg})
}
