package schedbench

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The PriorityClasses of PreemptionBasic.
const (
	lowPriority  = "bench-low"
	highPriority = "bench-high"
)

const zoneLabel = "topology.kubernetes.io/zone"

// node is the shape's i-th node.
func (s Shape) node(i int) *corev1.Node {
	name := fmt.Sprintf("bench-node-%05d", i)
	if s == Basic {
		return benchNode(name)
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("32Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res.DeepCopy(),
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
	switch s {
	case PodAffinity:
		n.Labels[zoneLabel] = "zone1"
	case TopologySpreading:
		n.Labels[zoneLabel] = fmt.Sprintf("moon-%d", i%3+1)
	}
	return n
}

// perfPod is scheduler_perf's pod template: one container of cpu / 500Mi.
func perfPod(name, scheduler, cpu string) *corev1.Pod {
	req := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("500Mi")}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Spec: corev1.PodSpec{
			SchedulerName:                 scheduler,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10",
				Ports:     []corev1.ContainerPort{{ContainerPort: 80}},
				Resources: corev1.ResourceRequirements{Requests: req, Limits: req.DeepCopy()}}},
		},
	}
}

// initPod is one of the pods created before measuring.
func (s Shape) initPod(name, scheduler string) *corev1.Pod {
	switch s {
	case TopologySpreading:
		return perfPod(name, scheduler, "100m")
	case PreemptionBasic:
		p := perfPod(name, scheduler, "900m")
		p.Spec.PriorityClassName = lowPriority
		return p
	}
	return s.pod(name, scheduler)
}

// pod is one measured pod.
func (s Shape) pod(name, scheduler string) *corev1.Pod {
	term := func(color, topologyKey string) corev1.PodAffinityTerm {
		return corev1.PodAffinityTerm{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"color": color}},
			TopologyKey:   topologyKey,
		}
	}
	switch s {
	case PodAntiAffinity:
		p := perfPod(name, scheduler, "100m")
		p.Labels["color"] = "green"
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("green", corev1.LabelHostname)}}}
		return p
	case PodAffinity:
		p := perfPod(name, scheduler, "100m")
		p.Labels["color"] = "blue"
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("blue", zoneLabel)}}}
		return p
	case TopologySpreading:
		p := perfPod(name, scheduler, "100m")
		p.Labels["color"] = "blue"
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 5, TopologyKey: zoneLabel, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"color": "blue"}},
		}}
		return p
	case PreemptionBasic:
		p := perfPod(name, scheduler, "3")
		p.Spec.PriorityClassName = highPriority
		return p
	}
	return benchPod(name, scheduler)
}

// Params returns scheduler_perf's initial and measured pod counts for the
// shape at 500 and 5,000 nodes (its 500Nodes and 5000Nodes workloads;
// PreemptionBasic, defined there at 1,000 nodes, keeps its 4 low-priority
// pods per node and 1 preemptor per node); other node counts scale the
// 500-node figures.
func Params(s Shape, nodes int) (initPods, pods int) {
	type pair struct{ init, pods int }
	at500 := map[Shape]pair{Basic: {500, 1000}, PodAntiAffinity: {100, 400}, PodAffinity: {500, 1000}, TopologySpreading: {1000, 1000}}
	at5000 := map[Shape]pair{Basic: {1000, 1000}, PodAntiAffinity: {1000, 1000}, PodAffinity: {5000, 1000}, TopologySpreading: {5000, 2000}}
	if s == PreemptionBasic {
		return 4 * nodes, nodes
	}
	if p, ok := at5000[s]; ok && nodes == 5000 {
		return p.init, p.pods
	}
	p := at500[s]
	return p.init * nodes / 500, p.pods * nodes / 500
}
