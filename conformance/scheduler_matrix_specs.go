package conformance

import (
	"context"
	"fmt"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Sources of the scheduler's behaviour matrix: Kubernetes' documentation and
// the upstream plugins (read, not copied).
const (
	srcSchedInit      = "Kubernetes: Init Containers, Resource sharing within containers (the effective init request is the highest of any init container; the Pod's is the higher of that and the sum of its containers); k8s.io/component-helpers/resource PodRequests; pkg/scheduler/framework/plugins/noderesources/fit.go"
	srcSchedSidecar   = "Kubernetes: Sidecar Containers, Resource sharing within containers (sidecars' requests add to the containers' and to every init container started after them); k8s.io/component-helpers/resource PodRequests"
	srcSchedTolerate  = "Kubernetes: Taints and Tolerations (a toleration matches a taint with the same key and effect, and operator Exists, or Equal and the same value; an empty key with Exists matches every key; an empty effect matches every effect); k8s.io/api/core/v1 Toleration.ToleratesTaint; pkg/scheduler/framework/plugins/tainttoleration"
	srcSchedPrefer    = "Kubernetes: Taints and Tolerations (PreferNoSchedule: the scheduler tries to avoid the node, it is not required); pkg/scheduler/framework/plugins/tainttoleration (Filter: NoSchedule and NoExecute only; Score: fewer intolerable PreferNoSchedule taints score higher)"
	srcSchedTerms     = "Kubernetes: Assigning Pods to Nodes, node affinity (nodeSelectorTerms are ORed, the matchExpressions of a term ANDed; operators In, NotIn, Exists, DoesNotExist, Gt, Lt; matchFields metadata.name; nodeSelector and affinity must both hold); k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	srcSchedCordonOK  = "Kubernetes: Taints and Tolerations, taint node.kubernetes.io/unschedulable; pkg/scheduler/framework/plugins/nodeunschedulable (a Pod tolerating node.kubernetes.io/unschedulable:NoSchedule may be placed on a cordoned node)"
	srcSchedIntegers  = "Kubernetes: Assigning Pods to Nodes, node affinity (Gt and Lt: the label's value is compared as an integer); API reference NodeSelectorRequirement (a Gt or Lt value is interpreted as an integer); k8s.io/apimachinery/pkg/labels Requirement.Matches (the label value is parsed as a base-10 int64; one that does not parse does not match)"
	srcSchedEmptyTerm = "API reference NodeSelectorTerm (a null or empty node selector term matches no objects); k8s.io/component-helpers/scheduling/corev1/nodeaffinity (an empty term is skipped: it matches no node)"
	srcSchedFitAsked  = "Kubernetes: Resource Management for Pods and Containers (the scheduler ensures that, for each resource type, the sum of the requests is less than the capacity); pkg/scheduler/framework/plugins/noderesources/fit.go fitsRequest (each resource is checked only when the Pod requests more than zero of it)"
	srcSchedFinished  = "Kubernetes: Pod Lifecycle (Succeeded and Failed are terminal phases); pkg/scheduler/eventhandlers.go and internal/cache (a terminated Pod is removed from the scheduler's cache and no longer counted on its node)"
	srcSchedBalance   = "Kubernetes: Scheduler Configuration, scheduling plugins (NodeResourcesBalancedAllocation favours nodes that would obtain a more balanced resource usage if the Pod is scheduled there; default score weights NodeResourcesFit 1, NodeResourcesBalancedAllocation 1); pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go (balance = (1 - std of the cpu and memory fractions) * 100, score = 50 + (50 + balance with the Pod - balance without it) / 2), least_allocated.go (mean of (allocatable - requested) * 100 / allocatable over cpu and memory, the Pod's requests included)"
	srcSchedRequeue   = "Kubernetes: Scheduling Framework, QueueingHint (an unschedulable Pod is retried on a cluster event that may make it schedulable: a node's taints, labels or allocatable changed); pkg/scheduler/framework/plugins/{tainttoleration,nodeaffinity,noderesources} EventsToRegister"
)

// schedulerMatrixSpecs are the rows of the scheduler's behaviour matrix that
// go beyond the seed: each plugin's documented cases.
func schedulerMatrixSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{sched("scheduler.fit.init-containers", "a Pod's cpu request MUST be counted as the larger of the sum of its containers' and its largest init container's: an init container above the sum MUST keep the Pod off a node with room for the sum only, and init containers MUST NOT be added to each other or to the containers", srcSchedInit), specSchedInitContainers},
		{sched("scheduler.fit.sidecar-containers", "a sidecar (an init container with restartPolicy Always) MUST be counted once, with the containers and with every init container that starts after it, and not with init containers that run before it", srcSchedSidecar), specSchedSidecars},
		{sched("scheduler.taints.equal-value", "a toleration with operator Equal (or none) MUST tolerate a taint only of the same key, value and effect: another value or another effect MUST NOT tolerate it", srcSchedTolerate), specSchedTaintEqual},
		{sched("scheduler.taints.empty-key-effect", "a toleration with an empty effect MUST tolerate every effect of its key, and one with an empty key and operator Exists MUST tolerate every taint", srcSchedTolerate), specSchedTaintWildcards},
		{sched("scheduler.taints.prefer-no-schedule", "a PreferNoSchedule taint MUST NOT keep an intolerant Pod off the node, and among otherwise equal nodes the Pod MUST be placed on one without the taint", srcSchedPrefer), specSchedPreferNoSchedule},
		{sched("scheduler.taints.prefer-tolerated", "a PreferNoSchedule taint the Pod tolerates MUST NOT count against the node: among otherwise equal nodes the Pod MUST be placed on one whose PreferNoSchedule taints it all tolerates rather than on one with a single taint it does not tolerate", srcSchedPrefer), specSchedPreferTolerated},
		{sched("scheduler.affinity.terms", "required node affinity MUST hold when any one of its nodeSelectorTerms holds, a term only when every one of its expressions (In, NotIn, Exists, DoesNotExist, Gt, Lt, matchFields metadata.name) holds, and together with the nodeSelector", srcSchedTerms), specSchedAffinityTerms},
		{sched("scheduler.affinity.gt-lt-integers", "Gt and Lt MUST compare the node's label value with the requirement's value as decimal integers, and a label value that is not a decimal integer MUST NOT satisfy them", srcSchedIntegers), specSchedGtLtIntegers},
		{sched("scheduler.affinity.empty-term", "an empty nodeSelectorTerm MUST match no node: a Pod whose only term is empty MUST NOT be placed, and beside a term that holds on one node the Pod MUST be placed on that node only", srcSchedEmptyTerm), specSchedEmptyTerm},
		{sched("scheduler.fit.requested-only", "a node MUST be checked only for the resources a Pod requests more than zero of: a Pod requesting no memory, or zero memory, MUST fit a node whose memory is already overcommitted", srcSchedFitAsked), specSchedRequestedOnly},
		{sched("scheduler.fit.finished-pods", "a Pod in phase Succeeded or Failed MUST NOT hold resources on its node", srcSchedFinished), specSchedFinishedPods},
		{sched("scheduler.nodes.cordoned-tolerated", "a Pod tolerating node.kubernetes.io/unschedulable:NoSchedule MUST be placeable on a cordoned node", srcSchedCordonOK), specSchedCordonedTolerated},
		{Behavior{ID: "scheduler.score.balanced-allocation", Component: "scheduler", Source: srcSchedBalance, Needs: []Capability{Scoring},
			Must: "with the default score weights a Pod MUST be placed where it evens out the node's cpu and memory usage when that gain outweighs the other node's emptiness: a Pod of 50 % cpu and 5 % memory MUST go to a node at 5 % cpu and 50 % memory (LeastAllocated 45 + balance 86) rather than to a node at 10 % of both (62 + 63)"}, specSchedBalancedAllocation},
		{Behavior{ID: "scheduler.score.least-allocated-weight", Component: "scheduler", Source: srcSchedBalance, Needs: []Capability{Scoring},
			Must: "with the default score weights the emptier node MUST win when its LeastAllocated lead outweighs the other node's balance gain: a Pod of 40 % cpu and 5 % memory MUST go to a node at 25 % cpu and 20 % memory (LeastAllocated 55 + balance 66) rather than to one at 10 % cpu and 80 % memory (32 + 83); with MostAllocated to the latter"}, specSchedLeastAllocatedWeight},
		{sched("scheduler.queue.node-update", "a Pending Pod MUST be placed once a node update makes it fit: an untolerated taint removed, a selected label added, allocatable raised", srcSchedRequeue), specSchedNodeUpdate},
	}
}

// withContainers replaces the pod's containers, each requesting the given cpu.
func withContainers(cpus ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers = nil
		for i, c := range cpus {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(c)}}})
		}
	}
}

// withInit appends an init container requesting cpu; sidecar makes it a
// sidecar (restartPolicy Always).
func withInit(cpu string, sidecar bool) podOpt {
	return func(p *corev1.Pod) {
		c := corev1.Container{Name: "init" + string(rune('0'+len(p.Spec.InitContainers))), Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}
		if sidecar {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

func withToleration(t corev1.Toleration) podOpt {
	return func(p *corev1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, t) }
}

func withRequiredTerms(terms ...corev1.NodeSelectorTerm) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
}

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func specSchedInitContainers(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "two-cpu", "2", "8Gi")
	// 1 cpu of containers, an init container of 3: the Pod needs 3.
	e.create(ctx, g, e.schedPod("init-above-sum", "", "", withContainers("1"), withInit("3", false)))
	e.unschedulable(ctx, g, "init-above-sum", gomega.ContainSubstring("Insufficient cpu"), "its init container needs 3 cpu, the node has 2")
	// 1.8 cpu of containers, init containers of 1.5 and 1.2: the Pod needs 1.8, not 3.3 or 4.5.
	e.create(ctx, g, e.schedPod("init-below-sum", "", "", withContainers("900m", "900m"), withInit("1500m", false), withInit("1200m", false)))
	e.placedOn(ctx, g, "init-below-sum", node)
}

func specSchedSidecars(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "three-and-a-half", "3500m", "8Gi")
	// A sidecar of 1 with containers of 3: 4.
	e.create(ctx, g, e.schedPod("sidecar-plus-containers", "", "", withContainers("3"), withInit("1", true)))
	// A sidecar of 1, then an init container of 3 (it runs beside the sidecar): 4.
	e.create(ctx, g, e.schedPod("init-after-sidecar", "", "", withContainers("500m"), withInit("1", true), withInit("3", false)))
	e.unschedulable(ctx, g, "sidecar-plus-containers", gomega.ContainSubstring("Insufficient cpu"), "sidecar 1 + containers 3 = 4 cpu, the node has 3.5")
	e.unschedulable(ctx, g, "init-after-sidecar", gomega.ContainSubstring("Insufficient cpu"), "init 3 beside the sidecar 1 before it = 4 cpu, the node has 3.5")
	// An init container of 3, then a sidecar of 1 (it starts after the init
	// container ended) with containers of 0.5: max(3, 1.5) = 3.
	e.create(ctx, g, e.schedPod("init-before-sidecar", "", "", withContainers("500m"), withInit("3", false), withInit("1", true)))
	e.placedOn(ctx, g, "init-before-sidecar", node)
	// A sidecar of 2 with containers of 0.5 on the emptied node: 2.5, the
	// sidecar counted once (twice it would be 4.5, or 4 at its start).
	e.deletePod(ctx, g, "init-before-sidecar")
	e.create(ctx, g, e.schedPod("big-sidecar", "", "", withContainers("500m"), withInit("2", true)))
	e.placedOn(ctx, g, "big-sidecar", node)
}

func specSchedTaintEqual(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "team-blue", "8", "16Gi", withLabels("ck-team", "blue"), withTaint("ck-team", "blue", corev1.TaintEffectNoSchedule))
	pin := selecting("ck-team", "blue")
	e.create(ctx, g, e.schedPod("equal-same", "100m", "64Mi", pin, withToleration(corev1.Toleration{Key: "ck-team", Operator: corev1.TolerationOpEqual, Value: "blue", Effect: corev1.TaintEffectNoSchedule})))
	e.create(ctx, g, e.schedPod("no-operator", "100m", "64Mi", pin, withToleration(corev1.Toleration{Key: "ck-team", Value: "blue", Effect: corev1.TaintEffectNoSchedule})))
	e.create(ctx, g, e.schedPod("equal-other-value", "100m", "64Mi", pin, withToleration(corev1.Toleration{Key: "ck-team", Operator: corev1.TolerationOpEqual, Value: "red", Effect: corev1.TaintEffectNoSchedule})))
	e.create(ctx, g, e.schedPod("equal-other-effect", "100m", "64Mi", pin, withToleration(corev1.Toleration{Key: "ck-team", Operator: corev1.TolerationOpEqual, Value: "blue", Effect: corev1.TaintEffectNoExecute})))
	e.placedOn(ctx, g, "equal-same", node)
	e.placedOn(ctx, g, "no-operator", node)
	e.unschedulable(ctx, g, "equal-other-value", gomega.ContainSubstring("untolerated taint"), "the toleration's value differs")
	e.unschedulable(ctx, g, "equal-other-effect", gomega.ContainSubstring("untolerated taint"), "the toleration's effect differs")
}

func specSchedTaintWildcards(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "tainted", "8", "16Gi", withLabels("ck-wild", "yes"),
		withTaint("ck-a", "x", corev1.TaintEffectNoSchedule), withTaint("ck-a", "y", corev1.TaintEffectNoExecute))
	pin := selecting("ck-wild", "yes")
	e.create(ctx, g, e.schedPod("any-effect", "100m", "64Mi", pin, withToleration(corev1.Toleration{Key: "ck-a", Operator: corev1.TolerationOpExists})))
	e.create(ctx, g, e.schedPod("everything", "100m", "64Mi", pin, withToleration(corev1.Toleration{Operator: corev1.TolerationOpExists})))
	e.create(ctx, g, e.schedPod("one-effect", "100m", "64Mi", pin, withToleration(corev1.Toleration{Key: "ck-a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})))
	e.create(ctx, g, e.schedPod("other-key", "100m", "64Mi", pin, withToleration(corev1.Toleration{Key: "ck-b", Operator: corev1.TolerationOpExists})))
	e.placedOn(ctx, g, "any-effect", node)
	e.placedOn(ctx, g, "everything", node)
	e.unschedulable(ctx, g, "one-effect", gomega.ContainSubstring("untolerated taint"), "the NoExecute taint is not tolerated")
	e.unschedulable(ctx, g, "other-key", gomega.ContainSubstring("untolerated taint"), "another key tolerates nothing here")
}

func specSchedPreferNoSchedule(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	soft := e.node(ctx, g, "soft", "4", "8Gi", withTaint("ck-soft", "", corev1.TaintEffectPreferNoSchedule))
	plain := e.node(ctx, g, "plain", "4", "8Gi")
	// Pinned pods that request nothing: the first shows PreferNoSchedule does
	// not filter, and both show the scheduler knows the node (as in the
	// best-fit spec) before the free choice.
	pin := func(node string) podOpt { return selecting(corev1.LabelHostname, node) }
	e.create(ctx, g, e.schedPod("pinned-soft", "", "", pin(soft)))
	e.create(ctx, g, e.schedPod("pinned-plain", "", "", pin(plain)))
	e.placedOn(ctx, g, "pinned-soft", soft)
	e.placedOn(ctx, g, "pinned-plain", plain)
	// Four small pods, each free to go anywhere: with scores tied (a
	// scheduler blind to the taint) each would land on either node.
	for i := range 4 {
		e.create(ctx, g, e.schedPod(fmt.Sprintf("free-%d", i), "10m", "16Mi"))
	}
	for i := range 4 {
		e.placedOn(ctx, g, fmt.Sprintf("free-%d", i), plain)
	}
}

func specSchedAffinityTerms(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.node(ctx, g, "aff-a", "4", "8Gi", withLabels("ck-zone", "a", "ck-disk", "ssd", "ck-cores", "4"))
	b := e.node(ctx, g, "aff-b", "4", "8Gi", withLabels("ck-zone", "b", "ck-disk", "hdd", "ck-cores", "8"))
	c := e.node(ctx, g, "aff-c", "4", "8Gi", withLabels("ck-zone", "c", "ck-cores", "16"))
	term := func(reqs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: reqs}
	}
	in, notIn, exists, none := corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn, corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist
	gt, lt := corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt
	placed := map[string]string{
		// Terms are ORed: the first matches no node, the second b.
		"or": b,
		// Expressions of a term are ANDed: zone a or b, and hdd.
		"and":            b,
		"does-not-exist": c,
		"gt":             c, // 16 > 8
		"lt":             a, // 4 < 8
		"not-in-exists":  a, // ssd, and not zone b or c
		"match-fields":   b,
	}
	e.create(ctx, g, e.schedPod("or", "100m", "64Mi", withRequiredTerms(term(expr("ck-zone", in, "x")), term(expr("ck-disk", in, "hdd")))))
	e.create(ctx, g, e.schedPod("and", "100m", "64Mi", withRequiredTerms(term(expr("ck-zone", in, "a", "b"), expr("ck-disk", in, "hdd")))))
	e.create(ctx, g, e.schedPod("does-not-exist", "100m", "64Mi", withRequiredTerms(term(expr("ck-disk", none)))))
	e.create(ctx, g, e.schedPod("gt", "100m", "64Mi", withRequiredTerms(term(expr("ck-cores", gt, "8")))))
	e.create(ctx, g, e.schedPod("lt", "100m", "64Mi", withRequiredTerms(term(expr("ck-cores", lt, "8")))))
	e.create(ctx, g, e.schedPod("not-in-exists", "100m", "64Mi", withRequiredTerms(term(expr("ck-zone", notIn, "b", "c"), expr("ck-disk", exists)))))
	e.create(ctx, g, e.schedPod("match-fields", "100m", "64Mi", withRequiredTerms(corev1.NodeSelectorTerm{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: in, Values: []string{b}}}})))
	// Nothing: a term whose expressions hold on different nodes only; Gt and
	// Lt are strict; the nodeSelector and the affinity on different nodes.
	e.create(ctx, g, e.schedPod("and-split", "100m", "64Mi", withRequiredTerms(term(expr("ck-zone", in, "a"), expr("ck-disk", in, "hdd")))))
	e.create(ctx, g, e.schedPod("gt-strict", "100m", "64Mi", withRequiredTerms(term(expr("ck-cores", gt, "16")))))
	e.create(ctx, g, e.schedPod("lt-strict", "100m", "64Mi", withRequiredTerms(term(expr("ck-cores", lt, "4")))))
	e.create(ctx, g, e.schedPod("selector-and-affinity", "100m", "64Mi", selecting("ck-zone", "a"), withRequiredTerms(term(expr("ck-disk", in, "hdd")))))
	// matchFields naming no node: a scheduler that ignored matchFields would
	// place it anywhere.
	e.create(ctx, g, e.schedPod("match-fields-none", "100m", "64Mi", withRequiredTerms(corev1.NodeSelectorTerm{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: in, Values: []string{e.prefix + "no-such-node"}}}})))
	for pod, node := range placed {
		e.placedOn(ctx, g, pod, node)
	}
	for _, pod := range []string{"and-split", "gt-strict", "lt-strict", "selector-and-affinity"} {
		e.unschedulable(ctx, g, pod, gomega.ContainSubstring("didn't match Pod's node affinity/selector"), "no node matches "+pod)
	}
	// kube-scheduler narrows the nodes to the named ones in NodeAffinity's
	// PreFilter and then reports "didn't satisfy plugin(s) [NodeAffinity]".
	e.unschedulable(ctx, g, "match-fields-none", gomega.Or(gomega.ContainSubstring("didn't match Pod's node affinity/selector"),
		gomega.ContainSubstring("didn't satisfy plugin(s) [NodeAffinity]")), "matchFields names no node")
}

func specSchedCordonedTolerated(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	off := e.node(ctx, g, "cordoned", "8", "16Gi", cordoned)
	e.create(ctx, g, e.schedPod("tolerant", "100m", "64Mi", withToleration(corev1.Toleration{Key: "node.kubernetes.io/unschedulable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})))
	e.create(ctx, g, e.schedPod("intolerant", "100m", "64Mi"))
	e.placedOn(ctx, g, "tolerant", off)
	e.unschedulable(ctx, g, "intolerant", gomega.ContainSubstring("unschedulable"), "only a cordoned node")
}

func specSchedNodeUpdate(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	update := func(name string, change func(*corev1.Node)) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		ok(g, err, "get node "+name)
		change(n)
		_, err = e.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		ok(g, err, "update node "+name)
	}
	tainted := e.node(ctx, g, "tainted", "4", "8Gi", withLabels("ck-for", "taint"), withTaint("ck-maintenance", "", corev1.TaintEffectNoSchedule))
	unlabelled := e.node(ctx, g, "unlabelled", "4", "8Gi")
	small := e.node(ctx, g, "small", "1", "8Gi", withLabels("ck-for", "size"))
	e.create(ctx, g, e.schedPod("wants-untainted", "100m", "64Mi", selecting("ck-for", "taint")))
	e.create(ctx, g, e.schedPod("wants-label", "100m", "64Mi", selecting("ck-for", "label")))
	e.create(ctx, g, e.schedPod("wants-room", "2", "64Mi", selecting("ck-for", "size")))
	e.unschedulable(ctx, g, "wants-untainted", gomega.ContainSubstring("untolerated taint"), "the node is tainted")
	e.unschedulable(ctx, g, "wants-label", gomega.ContainSubstring("didn't match Pod's node affinity/selector"), "no node has the label")
	e.unschedulable(ctx, g, "wants-room", gomega.ContainSubstring("Insufficient cpu"), "the node is too small")
	update(tainted, func(n *corev1.Node) { n.Spec.Taints = nil })
	e.placedOn(ctx, g, "wants-untainted", tainted)
	update(unlabelled, func(n *corev1.Node) { n.Labels["ck-for"] = "label" })
	e.placedOn(ctx, g, "wants-label", unlabelled)
	n, err := e.client.CoreV1().Nodes().Get(ctx, small, metav1.GetOptions{})
	ok(g, err, "get node "+small)
	n.Status.Capacity[corev1.ResourceCPU] = resource.MustParse("4")
	n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("4")
	_, err = e.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	ok(g, err, "raise the allocatable cpu of "+small)
	e.placedOn(ctx, g, "wants-room", small)
}

func specSchedGtLtIntegers(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	eleven := e.node(ctx, g, "eleven", "4", "8Gi", withLabels("ck-num", "11"))
	e.node(ctx, g, "letter", "4", "8Gi", withLabels("ck-num", "a"))
	e.node(ctx, g, "nine", "4", "8Gi", withLabels("ck-num", "9"))
	gt, lt, notIn := corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt, corev1.NodeSelectorOpNotIn
	term := func(reqs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: reqs}
	}
	// "10" is ten: only 11 is above it (read in another base, "10" would
	// be 11 or more, and no node would be).
	e.create(ctx, g, e.schedPod("gt-ten", "100m", "64Mi", withRequiredTerms(term(expr("ck-num", gt, "10")))))
	// Below 12 and neither 11 nor 9: only "a" is left, and it is no integer
	// (read as hexadecimal or in base 11 it would be 10).
	e.create(ctx, g, e.schedPod("lt-letter", "100m", "64Mi", withRequiredTerms(term(expr("ck-num", lt, "12"), expr("ck-num", notIn, "11", "9")))))
	e.placedOn(ctx, g, "gt-ten", eleven)
	e.unschedulable(ctx, g, "lt-letter", gomega.ContainSubstring("didn't match Pod's node affinity/selector"), "the label value a is not an integer")
}

func specSchedRequestedOnly(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "overcommitted", "4", "1Gi")
	// A Pod bound by hand, no scheduler involved, requests twice the memory.
	e.create(ctx, g, e.schedPod("mem-hog", "100m", "2Gi", onNode(node)))
	// The scheduler counts it: a Pod asking for memory does not fit.
	e.create(ctx, g, e.schedPod("wants-memory", "100m", "64Mi"))
	e.unschedulable(ctx, g, "wants-memory", gomega.ContainSubstring("Insufficient memory"), "the node's memory is overcommitted by mem-hog")
	e.create(ctx, g, e.schedPod("cpu-only", "100m", ""))
	e.create(ctx, g, e.schedPod("zero-memory", "100m", "0"))
	e.placedOn(ctx, g, "cpu-only", node)
	e.placedOn(ctx, g, "zero-memory", node)
}

func specSchedFinishedPods(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "two-cpu", "2", "4Gi")
	for name, phase := range map[string]corev1.PodPhase{"succeeded": corev1.PodSucceeded, "failed": corev1.PodFailed} {
		e.create(ctx, g, e.schedPod(name, "1500m", "1Gi", onNode(node)))
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		ok(g, err, "get pod "+name)
		p.Status.Phase = phase
		_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		ok(g, err, fmt.Sprintf("set the phase of pod %s to %s", name, phase))
	}
	// Created after both phases were written: the scheduler sees them first.
	e.create(ctx, g, e.schedPod("newcomer", "1500m", "1Gi"))
	e.placedOn(ctx, g, "newcomer", node)
}

func specSchedEmptyTerm(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	chosen := e.node(ctx, g, "chosen", "4", "8Gi", withLabels("ck-pick", "yes"))
	other := e.node(ctx, g, "other", "4", "8Gi")
	// Pinned pods that request nothing show the scheduler knows both nodes.
	e.create(ctx, g, e.schedPod("pinned-chosen", "", "", selecting(corev1.LabelHostname, chosen)))
	e.create(ctx, g, e.schedPod("pinned-other", "", "", selecting(corev1.LabelHostname, other)))
	e.placedOn(ctx, g, "pinned-chosen", chosen)
	e.placedOn(ctx, g, "pinned-other", other)
	pick := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{expr("ck-pick", corev1.NodeSelectorOpIn, "yes")}}
	e.create(ctx, g, e.schedPod("empty-only", "100m", "64Mi", withRequiredTerms(corev1.NodeSelectorTerm{})))
	// Several pods, so that a scheduler taking the empty term as "any
	// node" would spread some of them to the other node.
	for i := range 3 {
		e.create(ctx, g, e.schedPod(fmt.Sprintf("empty-and-pick-%d", i), "100m", "64Mi", withRequiredTerms(corev1.NodeSelectorTerm{}, pick)))
	}
	for i := range 3 {
		e.placedOn(ctx, g, fmt.Sprintf("empty-and-pick-%d", i), chosen)
	}
	e.unschedulable(ctx, g, "empty-only", gomega.ContainSubstring("didn't match Pod's node affinity/selector"), "an empty term matches no node")
}

// scoreChoice creates one node per load (cpu, memory requested on it by a
// pod the scheduler places there, pinned by hostname, so the scheduler has
// counted it), then a free Pod, and returns the node it was placed on. The
// nodes have 10 cpu and 10000Mi, so every figure is a share in hundredths.
func scoreChoice(ctx context.Context, g gomega.Gomega, e *schedEnv, podCPU, podMem string, loads map[string][2]string) string {
	for short, load := range loads {
		node := e.node(ctx, g, short, "10", "10000Mi")
		e.create(ctx, g, e.schedPod("load-"+short, load[0], load[1], selecting(corev1.LabelHostname, node)))
		e.placedOn(ctx, g, "load-"+short, node)
	}
	e.create(ctx, g, e.schedPod("free", podCPU, podMem))
	return e.placed(ctx, g, "free")
}

func specSchedBalancedAllocation(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	// Pod: 50 % cpu, 5 % memory. memory-heavy: 5 %/50 % before, 55 %/55 %
	// with it (LeastAllocated 45, balance 50 + (50 + 100 - 77) / 2 = 86);
	// even: 10 %/10 % before, 60 %/15 % with it (62, 50 + (50 + 77 - 100) / 2
	// = 63). MostAllocated: 55 + 86 against 37 + 63.
	got := scoreChoice(ctx, g, e, "5", "500Mi", map[string][2]string{
		"memory-heavy": {"500m", "5000Mi"},
		"even":         {"1", "1000Mi"},
	})
	g.Expect(got).To(gomega.Equal(e.prefix+"memory-heavy"), "the Pod evens out memory-heavy and skews even")
}

func specSchedLeastAllocatedWeight(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	// Pod: 40 % cpu, 5 % memory. skewed: 10 %/80 % before, 50 %/85 % with
	// it (LeastAllocated 32, balance 50 + (50 + 82 - 65) / 2 = 83); emptier:
	// 25 %/20 % before, 65 %/25 % with it (55, 50 + (50 + 80 - 97) / 2 = 66).
	// MostAllocated: 67 + 83 against 45 + 66.
	got := scoreChoice(ctx, g, e, "4", "500Mi", map[string][2]string{
		"skewed":  {"1", "8000Mi"},
		"emptier": {"2500m", "2000Mi"},
	})
	want := e.prefix + "emptier"
	if e.h.Scoring == interfaces.MostAllocated {
		want = e.prefix + "skewed"
	}
	g.Expect(got).To(gomega.Equal(want), "LeastAllocated 55 + 66 against 32 + 83 (MostAllocated 45 + 66 against 67 + 83)")
}

func specSchedPreferTolerated(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	tolerated := e.node(ctx, g, "tolerated", "4", "8Gi",
		withTaint("ck-soft-a", "", corev1.TaintEffectPreferNoSchedule), withTaint("ck-soft-b", "", corev1.TaintEffectPreferNoSchedule))
	other := e.node(ctx, g, "untolerated", "4", "8Gi", withTaint("ck-soft-c", "", corev1.TaintEffectPreferNoSchedule))
	// Pinned pods that request nothing show the scheduler knows both nodes.
	pin := func(node string) podOpt { return selecting(corev1.LabelHostname, node) }
	e.create(ctx, g, e.schedPod("pinned-tolerated", "", "", pin(tolerated)))
	e.create(ctx, g, e.schedPod("pinned-untolerated", "", "", pin(other)))
	e.placedOn(ctx, g, "pinned-tolerated", tolerated)
	e.placedOn(ctx, g, "pinned-untolerated", other)
	tolerate := func(key string) podOpt {
		return withToleration(corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule})
	}
	// Counting the two tolerated taints, tolerated would look worse than
	// untolerated's one.
	for i := range 2 {
		e.create(ctx, g, e.schedPod(fmt.Sprintf("tolerant-%d", i), "10m", "16Mi", tolerate("ck-soft-a"), tolerate("ck-soft-b")))
	}
	for i := range 2 {
		e.placedOn(ctx, g, fmt.Sprintf("tolerant-%d", i), tolerated)
	}
}
