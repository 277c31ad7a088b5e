package scheduler_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// loneWolf is a PreFilter plugin for the tests: a pod labelled lone=yes
// goes only to a node where no pod labelled lone=yes runs, counted
// across the snapshot in PreFilter (so RemovePod/AddPod matter).
type loneWolf struct{}

func (loneWolf) Name() string           { return "LoneWolf" }
func (loneWolf) RetryOnPodChange() bool { return true }

func (loneWolf) PreFilter(_ context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (interfaces.PodFilter, *interfaces.Status) {
	if pod.Labels["lone"] != "yes" {
		return nil, nil
	}
	f := wolfFilter{}
	for _, n := range nodes {
		for _, p := range n.PodList {
			if p.Labels["lone"] == "yes" {
				f[n.Name()]++
			}
		}
	}
	return f, nil
}

type wolfFilter map[string]int

func (f wolfFilter) Filter(_ context.Context, n *interfaces.NodeInfo) *interfaces.Status {
	if f[n.Name()] > 0 {
		return interfaces.NewStatus(interfaces.Unschedulable, "node(s) had a wolf")
	}
	return nil
}

func (f wolfFilter) Clone() interfaces.PodFilter {
	cp := wolfFilter{}
	for k, v := range f {
		cp[k] = v
	}
	return cp
}

func (f wolfFilter) RemovePod(_ context.Context, p *corev1.Pod, n *interfaces.NodeInfo) {
	if p.Labels["lone"] == "yes" {
		f[n.Name()]--
	}
}

func (f wolfFilter) AddPod(_ context.Context, p *corev1.Pod, n *interfaces.NodeInfo) {
	if p.Labels["lone"] == "yes" {
		f[n.Name()]++
	}
}

// prefersFew is a PreScore plugin for the tests whose raw score is the
// number of pods on the node, normalized reversed (fewest wins).
type prefersFew struct{}

func (prefersFew) Name() string { return "PrefersFew" }

func (prefersFew) PreScore(context.Context, *corev1.Pod, []*interfaces.NodeInfo, []*interfaces.NodeInfo) (interfaces.PodScorer, *interfaces.Status) {
	return fewScorer{}, nil
}

type fewScorer struct{}

func (fewScorer) Score(_ context.Context, n *interfaces.NodeInfo) (int64, *interfaces.Status) {
	return int64(len(n.PodList)), nil
}

func (fewScorer) NormalizeScore(_ context.Context, _ *corev1.Pod, scores []int64) *interfaces.Status {
	plugins.NormalizeToMax(scores, true)
	return nil
}

func extendedFramework(t *testing.T) *scheduler.Framework {
	t.Helper()
	reg := plugins.Registry()
	if err := reg.Register("LoneWolf", func(interfaces.Handle) (interfaces.Plugin, error) { return loneWolf{}, nil }); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("PrefersFew", func(interfaces.Handle) (interfaces.Plugin, error) { return prefersFew{}, nil }); err != nil {
		t.Fatal(err)
	}
	p := scheduler.DefaultProfile(interfaces.LeastAllocated)
	p.Filters = append(p.Filters, "LoneWolf")
	p.Scores = map[string]int64{"PrefersFew": 1}
	fw, err := scheduler.NewFramework(reg, p)
	if err != nil {
		t.Fatal(err)
	}
	return fw
}

func withPods(n *interfaces.NodeInfo, pods ...*corev1.Pod) *interfaces.NodeInfo {
	n.PodList = append(n.PodList, pods...)
	n.Pods += len(pods)
	return n
}

func lone(uid string, prio int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.UID = types.UID(uid)
		p.Labels = map[string]string{"lone": "yes"}
		p.Spec.Priority = &prio
	}
}

func TestPreFilterSeesTheWholeSnapshot(t *testing.T) {
	fw := extendedFramework(t)
	a := withPods(info(node("a", "4", "8Gi"), "", "", 0), pod("w1", "", "", lone("w1", 0)))
	b := withPods(info(node("b", "4", "8Gi"), "", "", 0), pod("p1", "", "", func(p *corev1.Pod) { p.UID = "p1" }))
	c := info(node("c", "4", "8Gi"), "", "", 0)
	got, err := fw.Place(context.Background(), pod("new", "", "", lone("new", 0)), []*interfaces.NodeInfo{a, b, c})
	if err != nil || got != "c" {
		t.Fatalf("Place = %q, %v; want c (a has a wolf, b has more pods than c)", got, err)
	}
	// Only a: rejected by LoneWolf, and the FitError says which plugin.
	_, err = fw.Place(context.Background(), pod("new", "", "", lone("new", 0)), []*interfaces.NodeInfo{a})
	var fit *interfaces.FitError
	if !errors.As(err, &fit) || fit.Reasons["node(s) had a wolf"] != 1 || !fit.Plugins["LoneWolf"] {
		t.Fatalf("Place on a = %v; want a FitError from LoneWolf", err)
	}
	if !fw.RetriesOnPodChange(err) {
		t.Fatalf("a pod rejected by a PodEventsPlugin must be retried on pod changes")
	}
}

func TestPreemptionRemovesPodsFromPreFilterState(t *testing.T) {
	fw := extendedFramework(t)
	victim := pod("w1", "", "", lone("w1", 0))
	a := withPods(info(node("a", "4", "8Gi"), "", "", 0), victim)
	cand, ok, err := fw.Preempt(context.Background(), pod("new", "", "", lone("new", 10)),
		[]scheduler.PreemptionNode{{Info: a, Pods: a.PodList}}, nil)
	if err != nil || !ok || cand.Node != "a" || len(cand.Victims) != 1 || cand.Victims[0].UID != "w1" {
		t.Fatalf("Preempt = %+v, %v, %v; want the wolf on a as the one victim", cand, ok, err)
	}
	if len(a.PodList) != 1 {
		t.Fatalf("preemption's what-ifs changed the snapshot: %d pods on a", len(a.PodList))
	}
}
