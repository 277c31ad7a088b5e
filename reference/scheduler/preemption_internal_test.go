package scheduler

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// TestNumCandidates checks kube-scheduler's DefaultPreemption defaults:
// 10% of the potential nodes, at least 100, at most all of them.
func TestNumCandidates(t *testing.T) {
	for _, c := range []struct{ potential, want int }{
		{0, 0}, {1, 1}, {99, 99}, {100, 100}, {500, 100}, {1000, 100}, {1001, 100}, {2000, 200}, {5000, 500},
	} {
		if got := numCandidates(c.potential); got != c.want {
			t.Errorf("numCandidates(%d) = %d, want %d", c.potential, got, c.want)
		}
	}
}

// TestPreemptAmongPlaceStatuses checks that preemption given place's
// verdicts (as the scheduling loop does) decides and explains as Preempt,
// which filters the nodes itself.
func TestPreemptAmongPlaceStatuses(t *testing.T) {
	fw, err := NewFramework(plugins.Registry(), DefaultProfile(interfaces.LeastAllocated))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, cpu string, prio int32) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)},
			Spec: corev1.PodSpec{Priority: &prio, Containers: []corev1.Container{{Name: "c", Image: "i",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}}
	}
	nodeWith := func(name string, tainted bool, pods ...*corev1.Pod) *interfaces.NodeInfo {
		res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourcePods: resource.MustParse("110")}
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Allocatable: res}}
		if tainted {
			n.Spec.Taints = []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoSchedule}}
		}
		in := &interfaces.NodeInfo{Node: n, Requested: corev1.ResourceList{}}
		for _, p := range pods {
			p.Spec.NodeName = name
			plugins.AddRequests(in.Requested, plugins.PodRequests(p))
			in.Pods++
			in.PodList = append(in.PodList, p)
		}
		return in
	}
	cases := map[string][]*interfaces.NodeInfo{
		"one candidate": {nodeWith("tainted", true, mk("t", "2", 0)), nodeWith("high", false, mk("h", "2", 50)), nodeWith("low", false, mk("l", "2", 0))},
		"no candidate":  {nodeWith("tainted", true, mk("t", "2", 0)), nodeWith("high", false, mk("h", "2", 50))},
	}
	for name, snap := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			pod := mk("p", "1", 10)
			_, resolvable, err := fw.place(ctx, pod, snap)
			if err == nil {
				t.Fatal("the pod fits without preemption")
			}
			nodes := make([]PreemptionNode, len(snap))
			for i, n := range snap {
				nodes[i] = PreemptionNode{Info: n, Pods: n.PodList}
			}
			want, wantOK, err := fw.Preempt(ctx, pod, nodes, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, gotOK, err := fw.preemptAmong(ctx, pod, nodes, resolvable, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Node != want.Node || gotOK != wantOK || got.Message != want.Message || len(got.Victims) != len(want.Victims) {
				t.Fatalf("with place's verdicts: %v %+v; filtering again: %v %+v", gotOK, got, wantOK, want)
			}
		})
	}
}
