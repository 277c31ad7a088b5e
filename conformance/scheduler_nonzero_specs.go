package conformance

import (
	"context"
	"fmt"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// srcSchedNonZero: how kube-scheduler's resource scores count requests.
const srcSchedNonZero = "Kubernetes: Resource Bin Packing and the scheduler's scoring (kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing); pkg/scheduler/framework/plugins/noderesources: resource_allocation.go (NodeResourcesFit's score counts every container that states no cpu or memory request as requesting 100m cpu / 200Mi memory — NonMissingContainerRequests, defaults from pkg/scheduler/util; only a missing request takes the default — for the node's pods, NodeInfo.NonZeroRequested, as for the Pod; NodeResourcesBalancedAllocation counts requests as stated), least_allocated.go and most_allocated.go (per resource (allocatable - requested) * 100 / allocatable, resp. requested * 100 / allocatable, in integers, averaged)"

// schedulerNonZeroSpecs are the specs of how the resource scores count what pods request.
func schedulerNonZeroSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{Behavior{ID: "scheduler.score.nonzero-defaults", Component: "scheduler", Source: srcSchedNonZero, Needs: []Capability{Scoring},
			Must: "the resource score MUST count every pod on a node whose containers state no cpu or memory request as requesting 100m cpu and 200Mi memory: a best-effort Pod MUST go to an empty 2-cpu 4Gi node (LeastAllocated 95) rather than to a 4-cpu 8Gi node holding 10 best-effort pods (72); with MostAllocated to the latter (26 against 4)"}, specSchedNonZeroDefaults},
		{Behavior{ID: "scheduler.score.explicit-zero", Component: "scheduler", Source: srcSchedNonZero, Needs: []Capability{Scoring},
			Must: "a container whose cpu and memory requests are explicitly 0 MUST count as requesting 0 in the resource score, not the 100m/200Mi defaults of a missing request: such a Pod MUST go to a 2-cpu node at 47.75 % (LeastAllocated 52) rather than to a 20-cpu node at 50 % (50); with MostAllocated to the latter (50 against 47)"}, specSchedExplicitZero},
		{Behavior{ID: "scheduler.score.balanced-requests", Component: "scheduler", Source: srcSchedNonZero, Needs: []Capability{Scoring},
			Must: "the balance score MUST count the Pod's requests as stated, a missing memory request as none: a Pod of 2 cpu and no memory MUST go to a node at 10 % cpu and 30 % memory (LeastAllocated 60 + balance 80) rather than to one at 24 % cpu and 10 % memory (63 + 70)"}, specSchedBalancedRequests},
	}
}

// loadedNodes makes the nodes (name: cpu, memory) and places on each the pods of its loads (cpu,
// memory; "" states no request), pinned by hostname; it returns the nodes' full names.
func (e *schedEnv) loadedNodes(ctx context.Context, g gomega.Gomega, nodes map[string][2]string, loads map[string][][2]string) map[string]string {
	names := map[string]string{}
	for short, size := range nodes {
		names[short] = e.node(ctx, g, short, size[0], size[1])
	}
	placed := map[string]string{}
	for short, pods := range loads {
		for i, load := range pods {
			name := fmt.Sprintf("load-%s-%d", short, i)
			e.create(ctx, g, e.schedPod(name, load[0], load[1], selecting(corev1.LabelHostname, names[short])))
			placed[name] = names[short]
		}
	}
	for name, node := range placed {
		e.placedOn(ctx, g, name, node)
	}
	return names
}

func specSchedNonZeroDefaults(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	// big: 10 best-effort pods count 1000m / 2000Mi; with the Pod 1100/4000 cpu and 2200/8192
	// memory → LeastAllocated (72 + 73) / 2 = 72, MostAllocated (27 + 26) / 2 = 26. small: the
	// Pod alone, 100/2000 and 200/4096 → 95, 4. Counting best-effort pods as nothing, big would
	// score 97 and 2.
	bestEffort := make([][2]string, 10)
	nodes := e.loadedNodes(ctx, g, map[string][2]string{"big": {"4", "8Gi"}, "small": {"2", "4Gi"}}, map[string][][2]string{"big": bestEffort})
	e.create(ctx, g, e.schedPod("free", "", ""))
	e.placedByScoring(ctx, g, "free", nodes["small"], nodes["big"],
		"LeastAllocated 95 against 72 (MostAllocated 4 against 26): best-effort pods count 100m cpu and 200Mi memory each")
}

// placedByScoring asserts that pod went to least with LeastAllocated scoring, to most with
// MostAllocated.
func (e *schedEnv) placedByScoring(ctx context.Context, g gomega.Gomega, pod, least, most, why string) {
	want := least
	if e.h.Scoring == interfaces.MostAllocated {
		want = most
	}
	g.ExpectWithOffset(1, e.placed(ctx, g, pod)).To(gomega.Equal(want), why)
}

func specSchedExplicitZero(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	// big: 10000/20000 cpu, 20480/40960Mi → LeastAllocated 50, MostAllocated 50. small:
	// 955/2000, 1956/4096Mi → 52 and 47. Counting the Pod's explicit zeros as 100m/200Mi: big 49
	// and 50, small 47 and 52 — the other way round.
	nodes := e.loadedNodes(ctx, g, map[string][2]string{"big": {"20", "40Gi"}, "small": {"2", "4Gi"}},
		map[string][][2]string{"big": {{"10", "20Gi"}}, "small": {{"955m", "1956Mi"}}})
	e.create(ctx, g, e.schedPod("free", "0", "0"))
	e.placedByScoring(ctx, g, "free", nodes["small"], nodes["big"],
		"LeastAllocated 52 against 50 (MostAllocated 50 against 47): requests of 0 count as 0")
}

func specSchedBalancedRequests(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	// Pod: 2 cpu, no memory request. even: 10 %/30 % before, 30 %/30 % with it (balance
	// 50 + (50 + 100 - 90) / 2 = 80; LeastAllocated with the 200Mi default (70 + 50) / 2 = 60).
	// skewed: 24 %/10 %, 44 %/10 % with it (50 + (50 + 83 - 93) / 2 = 70; (56 + 70) / 2 = 63).
	// Counting 200Mi in the balance too, both nodes would get about 75 and skewed would win.
	nodes := e.loadedNodes(ctx, g, map[string][2]string{"even": {"10", "1000Mi"}, "skewed": {"10", "1000Mi"}},
		map[string][][2]string{"even": {{"1", "300Mi"}}, "skewed": {{"2400m", "100Mi"}}})
	e.create(ctx, g, e.schedPod("free", "2", ""))
	g.Expect(e.placed(ctx, g, "free")).To(gomega.Equal(nodes["even"]),
		"60 + 80 against 63 + 70 (MostAllocated 40 + 80 against 37 + 70): the balance counts no memory for the Pod")
}
