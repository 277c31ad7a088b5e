package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Sources of the topology spread behaviours: Kubernetes' documentation and
// the upstream plugin (read, not copied).
const (
	srcSpread         = "Kubernetes: Pod Topology Spread Constraints (kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints: skew = pods matching the labelSelector in the domain after placing minus the global minimum over eligible domains; DoNotSchedule keeps a Pod off a domain where the skew would exceed maxSkew, ScheduleAnyway only gives higher precedence to topologies that would help reduce the skew); pkg/scheduler/framework/plugins/podtopologyspread/filtering.go"
	srcSpreadAnd      = "Kubernetes: Pod Topology Spread Constraints, multiple topology spread constraints (the scheduler requires all of them; their results are ANDed)"
	srcSpreadLabel    = "Kubernetes: Pod Topology Spread Constraints, conventions (nodes without a topologySpreadConstraints[*].topologyKey are bypassed: they are not eligible domains and a Pod with a DoNotSchedule constraint is not placed on them); podtopologyspread ErrReasonNodeLabelNotMatch \"node(s) didn't match pod topology spread constraints (missing required label)\""
	srcSpreadMin      = "Kubernetes: Pod Topology Spread Constraints, minDomains (when the number of eligible domains is less than minDomains, the global minimum is treated as 0)"
	srcSpreadPolicy   = "Kubernetes: Pod Topology Spread Constraints, nodeAffinityPolicy (Honor, the default: only nodes matching the Pod's nodeAffinity/nodeSelector are included in the skew calculation; Ignore: all nodes) and nodeTaintsPolicy (Ignore, the default: taints are ignored; Honor: nodes without taints, and tainted nodes whose taints the Pod tolerates, are included)"
	srcSpreadNS       = "Kubernetes: Pod Topology Spread Constraints (the labelSelector finds matching Pods in the Pod's own namespace); podtopologyspread countPodsMatchSelector (a Pod of another namespace or a terminating Pod, with a deletionTimestamp, is not counted)"
	srcSpreadKeys     = "Kubernetes: Pod Topology Spread Constraints, matchLabelKeys (the values of these keys in the incoming Pod's labels are ANDed with the labelSelector to select the group of existing Pods)"
	srcSpreadDefaults = "Kubernetes: Pod Topology Spread Constraints, cluster-level default constraints, built-in default constraints (kube-scheduler acts as if kubernetes.io/hostname maxSkew 3 and topology.kubernetes.io/zone maxSkew 5, ScheduleAnyway, were configured; the labelSelector is calculated from the Services, ReplicationControllers, ReplicaSets and StatefulSets the Pod belongs to); pkg/scheduler/framework/plugins/podtopologyspread/plugin.go systemDefaultConstraints, helper/spread.go DefaultSelector"
	srcSpreadQueue    = "pkg/scheduler/framework/plugins/podtopologyspread/plugin.go EventsToRegister (an assigned Pod added, relabelled or deleted may make a Pod rejected by the plugin schedulable)"
)

// Reasons of the PodTopologySpread filter, in kube-scheduler's wording.
const (
	spreadReason        = "node(s) didn't match pod topology spread constraints"
	spreadReasonNoLabel = spreadReason + " (missing required label)"
)

// schedulerSpreadSpecs are the specs of PodTopologySpread: topologySpreadConstraints
// of a Pod (no cluster-level default constraints: the specs' Pods have no owners).
func schedulerSpreadSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{sched("scheduler.spread.max-skew", "with whenUnsatisfiable DoNotSchedule a Pod MUST NOT be placed in a domain where the matching Pods after placing it would exceed the global minimum over eligible domains by more than maxSkew, even when that domain's node is the emptiest; when no node is left it MUST stay Pending with a message naming \""+spreadReason+"\"", srcSpread), specSpreadMaxSkew},
		{sched("scheduler.spread.schedule-anyway", "a ScheduleAnyway constraint MUST NOT keep a Pod off a node, and among nodes otherwise near equal a Pod MUST be placed in the domain with the fewest matching Pods", srcSpread), specSpreadScheduleAnyway},
		{sched("scheduler.spread.all-constraints", "a Pod MUST be placed only on a node that satisfies every one of its DoNotSchedule constraints", srcSpreadAnd), specSpreadAllConstraints},
		{sched("scheduler.spread.missing-label", "a node without a constraint's topologyKey MUST NOT count as a domain and MUST NOT take a Pod with a DoNotSchedule constraint, reported as \""+spreadReasonNoLabel+"\"", srcSpreadLabel), specSpreadMissingLabel},
		{sched("scheduler.spread.min-domains", "with fewer eligible domains than minDomains the global minimum MUST be taken as 0: a Pod whose domain would then exceed maxSkew MUST stay Pending, and MUST be placed in a new empty domain once a node adds one", srcSpreadMin), specSpreadMinDomains},
		{sched("scheduler.spread.node-affinity-policy", "with nodeAffinityPolicy Honor (the default) only nodes matching the Pod's nodeSelector MUST count as domains, and with Ignore every node MUST count", srcSpreadPolicy), specSpreadNodeAffinityPolicy},
		{sched("scheduler.spread.node-taints-policy", "with nodeTaintsPolicy Ignore (the default) a node with a taint the Pod does not tolerate MUST still count as a domain, and with Honor it MUST NOT, while a node whose taints the Pod tolerates MUST", srcSpreadPolicy), specSpreadNodeTaintsPolicy},
		{sched("scheduler.spread.own-namespace", "a constraint's labelSelector MUST count only Pods of the Pod's own namespace", srcSpreadNS), specSpreadOwnNamespace},
		{sched("scheduler.spread.terminating", "a terminating Pod (with a deletionTimestamp) MUST NOT be counted by a constraint's labelSelector", srcSpreadNS), specSpreadTerminating},
		{sched("scheduler.spread.match-label-keys", "a constraint's matchLabelKeys MUST narrow the counted Pods to those whose labels of these keys equal the Pod's own", srcSpreadKeys), specSpreadMatchLabelKeys},
		{Behavior{ID: "scheduler.spread.preemption", Component: "scheduler", Source: srcSpread + "; " + srcSchedPreemption, Needs: []Capability{Preemption},
			Must: "a Pod that a DoNotSchedule constraint alone keeps off a node MUST preempt there the lower-priority Pods of the constraint's selector whose removal brings the skew within maxSkew, MUST NOT preempt the node's lower-priority Pods outside the selector, and MUST then be bound there"}, specSpreadPreemption},
		{Behavior{ID: "scheduler.spread.system-defaults", Component: "scheduler", Source: srcSpreadDefaults, Needs: []Capability{SpreadDefaults},
			Must: "a Pod without topology spread constraints that a Service selects MUST be spread over nodes by the system default constraints: among nodes near equal otherwise it MUST be placed on the node with fewer Pods the Service selects"}, specSpreadSystemDefaults},
		{sched("scheduler.spread.queue-pod-bound", "a Pod kept Pending by a DoNotSchedule constraint MUST be placed once a Pod bound elsewhere raises the global minimum enough", srcSpreadQueue), specSpreadQueuePodBound},
	}
}

// spreadKey is a topology key of the spec's own (so that nodes of a shared
// cluster are never domains of its constraints).
func (e *schedEnv) spreadKey(what string) string { return e.prefix + what }

// spreadNode creates a node of 10 cpu and 10000Mi with the given topology
// labels (key suffix, value pairs, keys made by spreadKey) and returns its
// name.
func (e *schedEnv) spreadNode(ctx context.Context, g gomega.Gomega, short string, topo []string, opts ...nodeOpt) string {
	kv := make([]string, 0, len(topo))
	for i := 0; i+1 < len(topo); i += 2 {
		kv = append(kv, e.spreadKey(topo[i]), topo[i+1])
	}
	return e.node(ctx, g, short, "10", "10000Mi", append([]nodeOpt{withLabels(kv...)}, opts...)...)
}

// constraint is a topology spread constraint on a key of the spec's own,
// selecting the Pods labelled ck-spread=group.
func (e *schedEnv) constraint(key string, maxSkew int32, when corev1.UnsatisfiableConstraintAction, group string, opts ...func(*corev1.TopologySpreadConstraint)) corev1.TopologySpreadConstraint {
	c := corev1.TopologySpreadConstraint{
		MaxSkew: maxSkew, TopologyKey: e.spreadKey(key), WhenUnsatisfiable: when,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"ck-spread": group}},
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func spreading(cs ...corev1.TopologySpreadConstraint) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, cs...)
	}
}

// inGroup labels the pod ck-spread=group.
func inGroup(group string) podOpt { return withLabel("ck-spread", group) }

// members places n Pods of the group on the node through the scheduler
// (pinned by hostname, requesting nothing) and waits for each, so that the
// scheduler has counted them before the spec goes on.
func (e *schedEnv) members(ctx context.Context, g gomega.Gomega, prefix string, n int, node string, opts ...podOpt) {
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		e.create(ctx, g, e.schedPod(name, "", "", append([]podOpt{selecting(corev1.LabelHostname, node)}, opts...)...))
		e.placedOn(ctx, g, name, node)
	}
}

// placedOnOneOf waits until the pod is bound, asserts its node is one of
// nodes and returns it.
func (e *schedEnv) placedOnOneOf(ctx context.Context, g gomega.Gomega, name string, nodes ...string) string {
	got := e.placed(ctx, g, name)
	g.ExpectWithOffset(1, nodes).To(gomega.ContainElement(got), "pod %s placed on the wrong node; the spec's pods: %s", name, e.podSummary(ctx))
	return got
}

func specSpreadMaxSkew(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	c := e.spreadNode(ctx, g, "zone-c", []string{"zone", "c"})
	// b is the fullest node: without the constraint it would be the last choice.
	e.create(ctx, g, e.schedPod("load-b", "4", "4000Mi", selecting(corev1.LabelHostname, b)))
	e.placedOn(ctx, g, "load-b", b)
	e.members(ctx, g, "web-a", 3, a, inGroup("web"))
	e.members(ctx, g, "web-c", 2, c, inGroup("web"))
	// a 3, b 0, c 2: in a the skew would be 4, in c 3, in b 1.
	e.create(ctx, g, e.schedPod("spread", "100m", "64Mi", inGroup("web"), spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	e.placedOn(ctx, g, "spread", b)
	// a 3, b 1, c 2, and b now too full: a would be at skew 3, c at 2.
	e.create(ctx, g, e.schedPod("no-room", "6", "64Mi", inGroup("web"), spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	e.unschedulable(ctx, g, "no-room", gomega.And(
		gomega.ContainSubstring("2 "+spreadReason), gomega.ContainSubstring("1 Insufficient cpu"), gomega.Not(gomega.ContainSubstring("missing required label"))),
		"a and c exceed maxSkew, b has no room")
	// With maxSkew 2 c is allowed (skew 2) and a is not (3).
	e.create(ctx, g, e.schedPod("skew-two", "6", "64Mi", inGroup("web"), spreading(e.constraint("zone", 2, corev1.DoNotSchedule, "web"))))
	e.placedOn(ctx, g, "skew-two", c)
}

func specSpreadScheduleAnyway(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	// b holds 10 % of its cpu and memory: resource scores alone prefer a.
	e.create(ctx, g, e.schedPod("load-b", "1", "1000Mi", selecting(corev1.LabelHostname, b)))
	e.placedOn(ctx, g, "load-b", b)
	e.members(ctx, g, "web-a", 3, a, inGroup("web"))
	soft := spreading(e.constraint("zone", 1, corev1.ScheduleAnyway, "web"))
	// Pinned to a: a skew of 4 does not keep it off.
	e.create(ctx, g, e.schedPod("pinned-a", "10m", "16Mi", inGroup("web"), soft, selecting(corev1.LabelHostname, a)))
	e.placedOn(ctx, g, "pinned-a", a)
	// a 4, b 0, then a 4, b 1: each free Pod goes to b.
	for i := range 2 {
		name := fmt.Sprintf("free-%d", i)
		e.create(ctx, g, e.schedPod(name, "10m", "16Mi", inGroup("web"), soft))
		e.placedOn(ctx, g, name, b)
	}
}

func specSpreadAllConstraints(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a1 := e.spreadNode(ctx, g, "a1", []string{"zone", "a", "rack", "a1"})
	a2 := e.spreadNode(ctx, g, "a2", []string{"zone", "a", "rack", "a2"})
	e.spreadNode(ctx, g, "b1", []string{"zone", "b", "rack", "b1"})
	b2 := e.spreadNode(ctx, g, "b2", []string{"zone", "b", "rack", "b2"})
	// a1 is the fullest node: resource scores alone put it last.
	e.create(ctx, g, e.schedPod("load-a1", "3", "3000Mi", selecting(corev1.LabelHostname, a1)))
	e.placedOn(ctx, g, "load-a1", a1)
	e.members(ctx, g, "web-a2", 1, a2, inGroup("web"))
	e.members(ctx, g, "web-b2", 2, b2, inGroup("web"))
	// Racks a1 0, a2 1, b1 0, b2 2: the rack constraint allows a1 and b1.
	// Zones a 1, b 2: the zone constraint allows a1 and a2. Both: a1.
	e.create(ctx, g, e.schedPod("both", "100m", "64Mi", inGroup("web"), spreading(
		e.constraint("rack", 1, corev1.DoNotSchedule, "web"),
		e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	e.placedOn(ctx, g, "both", a1)
}

func specSpreadMissingLabel(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	labelled := e.spreadNode(ctx, g, "labelled", []string{"zone", "a"})
	bare := e.spreadNode(ctx, g, "bare", nil)
	// labelled is the fuller node.
	e.create(ctx, g, e.schedPod("load-labelled", "3", "3000Mi", selecting(corev1.LabelHostname, labelled)))
	e.placedOn(ctx, g, "load-labelled", labelled)
	e.members(ctx, g, "web", 1, labelled, inGroup("web"))
	// Zone a holds 1; were bare a domain (of 0) a second Pod in a would be
	// at skew 2.
	hard := spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))
	for i := range 2 {
		name := fmt.Sprintf("spread-%d", i)
		e.create(ctx, g, e.schedPod(name, "100m", "64Mi", inGroup("web"), hard))
		e.placedOn(ctx, g, name, labelled)
	}
	e.create(ctx, g, e.schedPod("pinned-bare", "100m", "64Mi", inGroup("web"), hard, selecting(corev1.LabelHostname, bare)))
	e.unschedulable(ctx, g, "pinned-bare", gomega.ContainSubstring("1 "+spreadReasonNoLabel), "bare has no zone label")
}

func specSpreadMinDomains(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	e.members(ctx, g, "web-a", 1, a, inGroup("web"))
	e.members(ctx, g, "web-b", 1, b, inGroup("web"))
	// Two domains of 1: with minDomains 3 the minimum is 0 and each domain
	// would be at skew 2.
	e.create(ctx, g, e.schedPod("three-domains", "100m", "64Mi", inGroup("web"), spreading(
		e.constraint("zone", 1, corev1.DoNotSchedule, "web", func(c *corev1.TopologySpreadConstraint) { c.MinDomains = ptr.To[int32](3) }))))
	// With minDomains 2 the minimum is 1.
	e.create(ctx, g, e.schedPod("two-domains", "100m", "64Mi", inGroup("web"), spreading(
		e.constraint("zone", 1, corev1.DoNotSchedule, "web", func(c *corev1.TopologySpreadConstraint) { c.MinDomains = ptr.To[int32](2) }))))
	e.placedOnOneOf(ctx, g, "two-domains", a, b)
	e.unschedulable(ctx, g, "three-domains", gomega.ContainSubstring("2 "+spreadReason), "two domains, minDomains 3: the global minimum is 0")
	c := e.spreadNode(ctx, g, "zone-c", []string{"zone", "c"})
	e.placedOn(ctx, g, "three-domains", c)
}

func specSpreadNodeAffinityPolicy(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"}, withLabels("ck-pool", "x"))
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"}, withLabels("ck-pool", "x"))
	e.spreadNode(ctx, g, "zone-c", []string{"zone", "c"})
	e.members(ctx, g, "web-a", 1, a, inGroup("web"))
	e.members(ctx, g, "web-b", 1, b, inGroup("web"))
	policy := func(p corev1.NodeInclusionPolicy) func(*corev1.TopologySpreadConstraint) {
		return func(c *corev1.TopologySpreadConstraint) { c.NodeAffinityPolicy = &p }
	}
	// Ignore: zone c (0) counts, a and b would be at skew 2; c is not selected.
	e.create(ctx, g, e.schedPod("ignore", "100m", "64Mi", inGroup("web"), selecting("ck-pool", "x"),
		spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web", policy(corev1.NodeInclusionPolicyIgnore)))))
	e.unschedulable(ctx, g, "ignore", gomega.ContainSubstring("2 "+spreadReason), "zone c counts with Ignore")
	// Honor, by default and explicitly: only a and b count, the minimum is
	// 1; the first goes to either, the second to the other.
	e.create(ctx, g, e.schedPod("honor-default", "100m", "64Mi", inGroup("web"), selecting("ck-pool", "x"),
		spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	first := e.placedOnOneOf(ctx, g, "honor-default", a, b)
	e.create(ctx, g, e.schedPod("honor", "100m", "64Mi", inGroup("web"), selecting("ck-pool", "x"),
		spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web", policy(corev1.NodeInclusionPolicyHonor)))))
	second := map[string]string{a: b, b: a}[first]
	e.placedOn(ctx, g, "honor", second)
}

func specSpreadNodeTaintsPolicy(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	c := e.spreadNode(ctx, g, "zone-c", []string{"zone", "c"}, withTaint("ck-dedicated", "batch", corev1.TaintEffectNoSchedule))
	e.members(ctx, g, "web-a", 1, a, inGroup("web"))
	e.members(ctx, g, "web-b", 1, b, inGroup("web"))
	honor := func(c *corev1.TopologySpreadConstraint) { c.NodeTaintsPolicy = ptr.To(corev1.NodeInclusionPolicyHonor) }
	// Ignore (default): the tainted zone c (0) counts, a and b would be at skew 2.
	e.create(ctx, g, e.schedPod("ignore", "100m", "64Mi", inGroup("web"), spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	e.unschedulable(ctx, g, "ignore", gomega.ContainSubstring("2 "+spreadReason), "the tainted zone c counts by default")
	// Honor: c does not count, the minimum is 1.
	e.create(ctx, g, e.schedPod("honor", "100m", "64Mi", inGroup("web"), spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web", honor))))
	e.placedOnOneOf(ctx, g, "honor", a, b)
	// Honor, tolerating the taint: c (0) counts again, and only c is allowed.
	e.create(ctx, g, e.schedPod("honor-tolerant", "100m", "64Mi", inGroup("web"), tolerating("ck-dedicated", corev1.TaintEffectNoSchedule),
		spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web", honor))))
	e.placedOn(ctx, g, "honor-tolerant", c)
}

func specSpreadOwnNamespace(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	other := e.ns + "-other"
	_, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{})
	ok(g, err, "creating namespace "+other)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.client.CoreV1().Namespaces().Delete(cctx, other, metav1.DeleteOptions{})
	})
	// Three Pods of the group in the other namespace on b, placed by the
	// scheduler so that it has counted them.
	for i := range 3 {
		p := e.schedPod(fmt.Sprintf("elsewhere-%d", i), "", "", inGroup("web"), selecting(corev1.LabelHostname, b))
		p.Namespace = other
		_, err := e.client.CoreV1().Pods(other).Create(ctx, p, metav1.CreateOptions{})
		ok(g, err, "creating pod "+p.Name+" in "+other)
		g.Eventually(func() string {
			got, err := e.client.CoreV1().Pods(other).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return ""
			}
			return got.Spec.NodeName
		}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.Equal(b), "pod %s/%s must be placed on %s", other, p.Name, b)
	}
	e.members(ctx, g, "web-a", 1, a, inGroup("web"))
	// Own namespace: a 1, b 0, so b. Counting every namespace: a 1, b 3, so a.
	e.create(ctx, g, e.schedPod("spread", "100m", "64Mi", inGroup("web"), spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	e.placedOn(ctx, g, "spread", b)
}

func specSpreadTerminating(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	e.members(ctx, g, "leaving", 2, a, inGroup("web"))
	e.members(ctx, g, "web-b", 1, b, inGroup("web"))
	// Without a kubelet a bound Pod deleted with a grace period stays, terminating.
	for i := range 2 {
		name := fmt.Sprintf("leaving-%d", i)
		ok(g, e.client.CoreV1().Pods(e.ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](3600)}), "deleting pod "+name+" gracefully")
		e.c.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = e.client.CoreV1().Pods(e.ns).Delete(cctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		})
		got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		ok(g, err, "get pod "+name)
		g.Expect(got.DeletionTimestamp).NotTo(gomega.BeNil(), "pod %s must be terminating", name)
	}
	// A Pod placed after the deletions: the scheduler has seen them.
	e.members(ctx, g, "sentinel", 1, b, inGroup("sentinel"))
	// Live Pods: a 0, b 1, so a. Counting the terminating ones: a 2, b 1, so b.
	e.create(ctx, g, e.schedPod("spread", "100m", "64Mi", inGroup("web"), spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	e.placedOn(ctx, g, "spread", a)
}

func specSpreadMatchLabelKeys(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	e.members(ctx, g, "v1-a", 2, a, inGroup("web"), withLabel("ck-version", "v1"))
	e.members(ctx, g, "v2-b", 1, b, inGroup("web"), withLabel("ck-version", "v2"))
	// Version v2 only: a 0, b 1, so a. The whole group: a 2, b 1, so b.
	e.create(ctx, g, e.schedPod("spread", "100m", "64Mi", inGroup("web"), withLabel("ck-version", "v2"), spreading(
		e.constraint("zone", 1, corev1.DoNotSchedule, "web", func(c *corev1.TopologySpreadConstraint) { c.MatchLabelKeys = []string{"ck-version"} }))))
	e.placedOn(ctx, g, "spread", a)
}

func specSpreadQueuePodBound(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	e.members(ctx, g, "web-a", 1, a, inGroup("web"))
	// b is full for a 6-cpu Pod; a would be at skew 2.
	e.create(ctx, g, e.schedPod("load-b", "5", "64Mi", selecting(corev1.LabelHostname, b)))
	e.placedOn(ctx, g, "load-b", b)
	e.create(ctx, g, e.schedPod("waiting", "6", "64Mi", inGroup("web"), spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	e.unschedulable(ctx, g, "waiting", gomega.And(gomega.ContainSubstring("1 "+spreadReason), gomega.ContainSubstring("1 Insufficient cpu")), "a is at skew 2, b has no room")
	// A Pod of the group placed on b: a 1, b 1, so a is at skew 1.
	e.members(ctx, g, "web-b", 1, b, inGroup("web"))
	e.placedOn(ctx, g, "waiting", a)
}

func specSpreadPreemption(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	low := e.priorityClass(ctx, g, "low", 10, "")
	high := e.priorityClass(ctx, g, "high", 1000, "")
	a := e.spreadNode(ctx, g, "zone-a", []string{"zone", "a"})
	b := e.spreadNode(ctx, g, "zone-b", []string{"zone", "b"})
	// b is full with a Pod the preemptor may not preempt (same priority).
	e.create(ctx, g, e.schedPod("blocker", "9500m", "64Mi", selecting(corev1.LabelHostname, b), withPriorityClass(high)))
	e.placedOn(ctx, g, "blocker", b)
	// a has room but two low-priority Pods of the group (skew 3) and one
	// outside it.
	e.members(ctx, g, "web", 2, a, inGroup("web"), withPriorityClass(low))
	e.members(ctx, g, "bystander", 1, a, inGroup("other"), withPriorityClass(low))
	e.create(ctx, g, e.schedPod("preemptor", "1", "64Mi", inGroup("web"), withPriorityClass(high),
		spreading(e.constraint("zone", 1, corev1.DoNotSchedule, "web"))))
	// Only with both gone is a at skew 1.
	e.gone(ctx, g, "web-0", "one web Pod left on a keeps the skew at 2")
	e.gone(ctx, g, "web-1", "one web Pod left on a keeps the skew at 2")
	e.placedOn(ctx, g, "preemptor", a)
	e.stayUndeleted(ctx, g, "the bystander is outside the constraint's selector", "bystander-0", "blocker")
}

func specSpreadSystemDefaults(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	pool := selecting("ck-defaults", "yes")
	a := e.spreadNode(ctx, g, "a", nil, withLabels("ck-defaults", "yes"))
	b := e.spreadNode(ctx, g, "b", nil, withLabels("ck-defaults", "yes"))
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"ck-app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
	ok(g, err, "creating Service web")
	// b holds 10 % of its cpu and memory: resource scores alone prefer a.
	e.create(ctx, g, e.schedPod("load-b", "1", "1000Mi", selecting(corev1.LabelHostname, b)))
	e.placedOn(ctx, g, "load-b", b)
	e.members(ctx, g, "web-a", 3, a, withLabel("ck-app", "web"))
	// Hostname a 3, b 0, then b 1: each Pod of the Service goes to b.
	for i := range 2 {
		name := fmt.Sprintf("web-free-%d", i)
		e.create(ctx, g, e.schedPod(name, "10m", "16Mi", withLabel("ck-app", "web"), pool))
		e.placedOn(ctx, g, name, b)
	}
}
