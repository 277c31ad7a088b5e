package scheduler_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

func prio(v int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Priority = &v }
}

func started(minutesAgo int) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		t := metav1.NewTime(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(-time.Duration(minutesAgo) * time.Minute))
		p.Status.StartTime = &t
	}
}

func labelled(k, v string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Labels = map[string]string{k: v} }
}

func never(p *corev1.Pod) { pol := corev1.PreemptNever; p.Spec.PreemptionPolicy = &pol }

// onto builds a preemption node: the node with the given pods counted on it.
func onto(n *corev1.Node, pods ...*corev1.Pod) scheduler.PreemptionNode {
	in := &interfaces.NodeInfo{Node: n, Requested: corev1.ResourceList{}}
	for _, p := range pods {
		p.UID = types.UID(n.Name + "/" + p.Name)
		p.Spec.NodeName = n.Name
		plugins.AddRequests(in.Requested, plugins.PodRequests(p))
		in.Pods++
	}
	return scheduler.PreemptionNode{Info: in, Pods: pods}
}

func names(ps []*corev1.Pod) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestPreempt(t *testing.T) {
	guard := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "default"},
		Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "g"}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0}}
	cases := []struct {
		name    string
		pod     *corev1.Pod
		nodes   []scheduler.PreemptionNode
		pdbs    []*policyv1.PodDisruptionBudget
		node    string // "" = no preemption
		victims []string
	}{
		{name: "evicts the lower pod", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{onto(node("a", "2", "4Gi"), pod("low", "2", "", prio(1)))},
			node:  "a", victims: []string{"low"}},
		{name: "never an equal or higher pod", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{onto(node("a", "2", "4Gi"), pod("eq", "1", "", prio(100)), pod("hi", "1", "", prio(200)))}},
		{name: "policy Never", pod: pod("p", "1", "", prio(100), never),
			nodes: []scheduler.PreemptionNode{onto(node("a", "2", "4Gi"), pod("low", "2", "", prio(1)))}},
		{name: "not when removing every lower pod is not enough", pod: pod("p", "2", "", prio(100)),
			nodes: []scheduler.PreemptionNode{onto(node("a", "2", "4Gi"), pod("low", "1", "", prio(1)), pod("hi", "1", "", prio(200)))}},
		{name: "not on a node the pod cannot use whatever goes", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{onto(node("a", "2", "4Gi", taint("x", corev1.TaintEffectNoSchedule)), pod("low", "2", "", prio(1)))}},
		{name: "reprieves the most important first", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{onto(node("a", "3", "4Gi"), pod("p10", "1", "", prio(10)), pod("p30", "1", "", prio(30)), pod("p20", "1", "", prio(20)))},
			node:  "a", victims: []string{"p10"}},
		{name: "lowest highest-victim priority wins", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{
				onto(node("a", "1", "4Gi"), pod("a20", "1", "", prio(20))),
				onto(node("b", "1", "4Gi"), pod("b10", "1", "", prio(10)))},
			node: "b", victims: []string{"b10"}},
		{name: "fewest PDB violations wins", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{
				onto(node("a", "1", "4Gi"), pod("guarded", "1", "", prio(1), labelled("app", "g"))),
				onto(node("b", "1", "4Gi"), pod("free", "1", "", prio(5)))},
			pdbs: []*policyv1.PodDisruptionBudget{guard}, node: "b", victims: []string{"free"}},
		{name: "PDB-protected victims are reprieved first", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{onto(node("a", "2", "4Gi"), pod("guarded", "1", "", prio(1), labelled("app", "g")), pod("free", "1", "", prio(5)))},
			pdbs:  []*policyv1.PodDisruptionBudget{guard}, node: "a", victims: []string{"free"}},
		{name: "smallest sum of priorities wins", pod: pod("p", "2", "", prio(100)),
			nodes: []scheduler.PreemptionNode{
				onto(node("a", "2", "4Gi"), pod("a1", "1", "", prio(10)), pod("a2", "1", "", prio(10))),
				onto(node("b", "2", "4Gi"), pod("b1", "2", "", prio(10)))},
			node: "b", victims: []string{"b1"}},
		{name: "latest start of the top victims wins", pod: pod("p", "1", "", prio(100)),
			nodes: []scheduler.PreemptionNode{
				onto(node("a", "1", "4Gi"), pod("old", "1", "", prio(10), started(60))),
				onto(node("b", "1", "4Gi"), pod("young", "1", "", prio(10), started(5)))},
			node: "b", victims: []string{"young"}},
	}
	reg := plugins.Registry()
	fw, err := scheduler.NewFramework(reg, scheduler.DefaultProfile(interfaces.LeastAllocated))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, ok, err := fw.Preempt(context.Background(), tc.pod, tc.nodes, tc.pdbs)
			if err != nil {
				t.Fatal(err)
			}
			if tc.node == "" {
				if ok {
					t.Fatalf("preempted on %s (victims %v), want no preemption", c.Node, names(c.Victims))
				}
				return
			}
			if !ok || c.Node != tc.node || !equalStrings(names(c.Victims), tc.victims) {
				t.Fatalf("got ok=%v node %q victims %v, want node %q victims %v", ok, c.Node, names(c.Victims), tc.node, tc.victims)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
