package knownbad

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// swappedPlugin builds the reference scheduler whose profile uses pl in
// place of the plugin named replace, as a filter or as a score (keeping
// its weight).
func swappedPlugin(cfg *rest.Config, name, replace string, pl interfaces.Plugin) (interfaces.Component, error) {
	p := scheduler.DefaultProfile(interfaces.LeastAllocated)
	for i, f := range p.Filters {
		if f == replace {
			p.Filters[i] = pl.Name()
		}
	}
	if w, ok := p.Scores[replace]; ok {
		delete(p.Scores, replace)
		p.Scores[pl.Name()] = w
	}
	reg := interfaces.Registry{}
	if err := reg.Register(pl.Name(), func(interfaces.Handle) (interfaces.Plugin, error) { return pl, nil }); err != nil {
		return nil, err
	}
	return scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p, Plugins: reg})
}

// portsByNumber is NodePorts comparing host port numbers only: a UDP port
// or another host address of the same number counts as taken.
type portsByNumber struct{}

func (portsByNumber) Name() string { return "PortsByNumber" }

func (portsByNumber) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	for _, w := range plugins.HostPorts(pod) {
		for _, other := range node.PodList {
			for _, used := range plugins.HostPorts(other) {
				if used.HostPort == w.HostPort {
					return interfaces.NewStatus(interfaces.Unschedulable, plugins.ReasonNodePorts)
				}
			}
		}
	}
	return nil
}

// SchedulerPortsByNumber is the reference scheduler whose NodePorts
// ignores protocol and host IP.
func SchedulerPortsByNumber(cfg *rest.Config, name string) (interfaces.Component, error) {
	return swappedPlugin(cfg, name, plugins.NodePortsName, portsByNumber{})
}

// taintsUnnormalized scores 100 / (1 + intolerable PreferNoSchedule taints)
// with no normalization: a node with one such taint still scores 50, so a
// preferred node-affinity term (weight 2) outweighs it (weight 3).
type taintsUnnormalized struct{ plugins.TaintToleration }

func (taintsUnnormalized) Name() string { return "TaintsUnnormalized" }

func (t taintsUnnormalized) Score(ctx context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	n, st := t.TaintToleration.Score(ctx, pod, node)
	return interfaces.MaxNodeScore / (1 + n), st
}

// NormalizeScore leaves the scores as they are.
func (taintsUnnormalized) NormalizeScore(context.Context, *corev1.Pod, []int64) *interfaces.Status {
	return nil
}

// SchedulerUnnormalizedTaintScore is the reference scheduler whose
// TaintToleration score is not rescaled across nodes.
func SchedulerUnnormalizedTaintScore(cfg *rest.Config, name string) (interfaces.Component, error) {
	return swappedPlugin(cfg, name, plugins.TaintTolerationName, taintsUnnormalized{})
}

// fitStatedRequests is NodeResourcesFit whose score counts the node's pods by the requests they
// state, as a scheduler written from "requested / allocatable" would: a pod without a cpu or
// memory request counts as nothing, where kube-scheduler counts 100m and 200Mi for it.
type fitStatedRequests struct{ *plugins.Fit }

func (fitStatedRequests) Name() string { return "FitStatedRequests" }

func (f fitStatedRequests) Score(ctx context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	stated := *node
	stated.NonZeroMilliCPU = node.Requested.Cpu().MilliValue()
	stated.NonZeroMemory = node.Requested.Memory().Value()
	return f.Fit.Score(ctx, pod, &stated)
}

// SchedulerScoringStatedRequests is the reference scheduler whose resource score counts best-effort
// pods on a node as requesting nothing.
func SchedulerScoringStatedRequests(cfg *rest.Config, name string) (interfaces.Component, error) {
	fit, err := plugins.NewFit(nil)
	if err != nil {
		return nil, err
	}
	return swappedPlugin(cfg, name, plugins.NodeResourcesFitName, fitStatedRequests{fit.(*plugins.Fit)})
}
