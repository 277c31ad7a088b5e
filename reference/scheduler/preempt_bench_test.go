package scheduler

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// BenchmarkPreemptionAttempt measures what the scheduling loop does for one
// preemptor of scheduler_perf's PreemptionBasic (no API): the snapshot with
// the nominations counted, Place failing everywhere, and Preempt. Nodes of
// 4 cpu hold 4 low-priority pods of 900m; half the nodes already have a
// preemptor of 3 cpu nominated to them.
// go test -run '^$' -bench PreemptionAttempt ./reference/scheduler
func BenchmarkPreemptionAttempt(b *testing.B) {
	fw, err := NewFramework(plugins.Registry(), DefaultProfile(interfaces.LeastAllocated))
	if err != nil {
		b.Fatal(err)
	}
	benchPod := func(name, cpu string, prio int32) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "bench", UID: types.UID(name)},
			Spec: corev1.PodSpec{Priority: &prio, Containers: []corev1.Container{{Name: "c", Image: "i",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}}
	}
	for _, nodes := range []int{1000, 5000} {
		c := newNodeCache()
		for i := range nodes {
			res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")}
			name := fmt.Sprintf("node-%05d", i)
			c.setNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
				Status: corev1.NodeStatus{Allocatable: res}})
			for j := range 4 {
				p := benchPod(fmt.Sprintf("init-%d-%d", i, j), "900m", 0)
				p.Spec.NodeName = name
				c.addLocked(p, name, false)
			}
			if i%2 == 0 {
				c.nominate(benchPod(fmt.Sprintf("nominated-%d", i), "3", 10), name)
			}
		}
		pod := benchPod("preemptor", "3", 10)
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			ctx := context.Background()
			r := &run{cache: c}
			for b.Loop() {
				snap := c.snapshotFor(pod)
				_, resolvable, err := fw.place(ctx, pod, snap)
				if err == nil {
					b.Fatal("the preemptor fits without preemption")
				}
				if r.waitingForVictims(pod, "node-00001") {
					b.Fatal("no victims are terminating")
				}
				if _, ok, err := fw.preemptAmong(ctx, pod, r.preemptionNodes(snap), resolvable, nil); err != nil || !ok {
					b.Fatalf("no preemption: %v", err)
				}
			}
		})
	}
}
