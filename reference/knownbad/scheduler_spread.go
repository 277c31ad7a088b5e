package knownbad

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// spreadBroken is PodTopologySpread's filter with a blind spot: adjust
// changes what the real plugin sees. Without retry, a pod it rejected waits
// for a node change or the periodic flush instead of the next pod bound.
type spreadBroken struct {
	name    string
	adjust  func(pod *corev1.Pod, nodes []*interfaces.NodeInfo) (*corev1.Pod, []*interfaces.NodeInfo)
	noRetry bool
}

func (s spreadBroken) Name() string { return s.name }

func (s spreadBroken) RetryOnPodChange() bool { return !s.noRetry }

func (s spreadBroken) PreFilter(ctx context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (interfaces.PodFilter, *interfaces.Status) {
	if s.adjust != nil {
		pod, nodes = s.adjust(pod, nodes)
	}
	return plugins.TopologySpread{}.PreFilter(ctx, pod, nodes)
}

// brokenSpread builds the reference scheduler whose PodTopologySpread
// filter is replaced by broken (its score stays).
func brokenSpread(cfg *rest.Config, name string, broken spreadBroken) (interfaces.Component, error) {
	p := scheduler.DefaultProfile(interfaces.LeastAllocated)
	for i, f := range p.Filters {
		if f == plugins.PodTopologySpreadName {
			p.Filters[i] = broken.name
		}
	}
	reg := interfaces.Registry{}
	if err := reg.Register(broken.name, func(interfaces.Handle) (interfaces.Plugin, error) { return broken, nil }); err != nil {
		return nil, err
	}
	return scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p, Plugins: reg})
}

// SchedulerSpreadingAcrossNamespaces counts the pods of every namespace
// that match a topology spread constraint's selector, not only those of the
// pod's own namespace.
func SchedulerSpreadingAcrossNamespaces(cfg *rest.Config, name string) (interfaces.Component, error) {
	return brokenSpread(cfg, name, spreadBroken{name: "SpreadAcrossNamespaces",
		adjust: func(pod *corev1.Pod, nodes []*interfaces.NodeInfo) (*corev1.Pod, []*interfaces.NodeInfo) {
			out := make([]*interfaces.NodeInfo, len(nodes))
			for i, n := range nodes {
				cp := *n
				cp.PodList = make([]*corev1.Pod, len(n.PodList))
				for j, p := range n.PodList {
					q := p.DeepCopy()
					q.Namespace = pod.Namespace
					cp.PodList[j] = q
				}
				out[i] = &cp
			}
			return pod, out
		}})
}

// SchedulerIgnoringMinDomains measures skew from the smallest count of the
// domains that exist, whatever a constraint's minDomains.
func SchedulerIgnoringMinDomains(cfg *rest.Config, name string) (interfaces.Component, error) {
	return brokenSpread(cfg, name, spreadBroken{name: "SpreadIgnoringMinDomains",
		adjust: func(pod *corev1.Pod, nodes []*interfaces.NodeInfo) (*corev1.Pod, []*interfaces.NodeInfo) {
			p := pod.DeepCopy()
			for i := range p.Spec.TopologySpreadConstraints {
				p.Spec.TopologySpreadConstraints[i].MinDomains = nil
			}
			return p, nodes
		}})
}

// SchedulerSpreadWithoutPodRetry does not retry a pod its topology spread
// filter rejected when another pod is bound: the pod waits for a node
// change or the periodic flush.
func SchedulerSpreadWithoutPodRetry(cfg *rest.Config, name string) (interfaces.Component, error) {
	return brokenSpread(cfg, name, spreadBroken{name: "SpreadWithoutPodRetry", noRetry: true})
}
