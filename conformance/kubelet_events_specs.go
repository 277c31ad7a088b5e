package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// srcKubeletEvents: the Events the kubelet writes while it starts a pod.
const srcKubeletEvents = "Kubernetes: kubectl describe pod shows the kubelet's Events (kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod; pkg/kubelet/events: Pulled, Created, Started)"

// kubeletEventSpecs are the specs of the Events the kubelet writes.
func kubeletEventSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.events.pod-start",
			"a pod the kubelet starts MUST get Normal Events from source component kubelet (host the node) about its container (fieldPath spec.containers{NAME}): Pulled, Created and Started with the message \"Started container NAME\"",
			srcKubeletEvents), specKubeletStartEvents},
	}
}

func specKubeletStartEvents(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("evented", "serve-hostname", "--port", "8080"))
	p := e.waitPod(ctx, g, "evented", "Running", startTimeout, isRunning)
	g.Eventually(func(g gomega.Gomega) {
		list, err := e.client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "listing Events")
		got := map[string]string{}
		var seen []string
		for _, ev := range list.Items {
			o := ev.InvolvedObject
			if o.Kind != "Pod" || o.Name != "evented" || (o.UID != "" && o.UID != p.UID) {
				continue
			}
			seen = append(seen, fmt.Sprintf("%s %s %s/%s %s: %s", ev.Type, o.FieldPath, ev.Source.Component, ev.Source.Host, ev.Reason, ev.Message))
			if ev.Type == corev1.EventTypeNormal && o.FieldPath == "spec.containers{c}" && ev.Source.Component == "kubelet" && ev.Source.Host == e.k.Node {
				got[ev.Reason] = ev.Message
			}
		}
		g.Expect(got).To(gomega.HaveKey("Pulled"), "the pod's events: %q", seen)
		g.Expect(got).To(gomega.HaveKey("Created"), "the pod's events: %q", seen)
		g.Expect(got).To(gomega.HaveKeyWithValue("Started", "Started container c"), "the pod's events: %q", seen)
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
}

// srcKubeletNodeEvents: the Events the kubelet writes about its Node.
const srcKubeletNodeEvents = "Kubernetes: kubectl describe node shows the kubelet's node Events (pkg/kubelet/kubelet.go BirthCry: Starting \"Starting kubelet.\"; pkg/kubelet/nodestatus/setters.go: NodeHasSufficientMemory, NodeHasNoDiskPressure, NodeHasSufficientPID and their opposites, NodeReady, NodeNotReady recorded when a condition's status changes, \"Node NAME status is now: REASON\")"

// Reasons of the kubelet's node status Events, by pressure condition (either status).
var nodePressureReasons = [][2]string{
	{"NodeHasSufficientMemory", "NodeHasInsufficientMemory"},
	{"NodeHasNoDiskPressure", "NodeHasDiskPressure"},
	{"NodeHasSufficientPID", "NodeHasInsufficientPID"},
}

// kubeletNodeEventSpecs are the specs of the Events the kubelet writes about its Node.
func kubeletNodeEventSpecs() []spec[*kubeletEnv] {
	starting := kubeletBehavior("kubelet.events.node-starting",
		"a kubelet that starts MUST record on its Node (involvedObject kind Node and the node's name; source component kubelet, host the node) a Normal Event Starting \"Starting kubelet.\" and, for each pressure condition it reports, a Normal Event NodeHasSufficientMemory or NodeHasInsufficientMemory, NodeHasNoDiskPressure or NodeHasDiskPressure, NodeHasSufficientPID or NodeHasInsufficientPID with the message \"Node NAME status is now: REASON\"",
		srcKubeletNodeEvents, "Disruptive")
	starting.Needs = []Capability{KubeletRestart}
	return []spec[*kubeletEnv]{
		{starting, specKubeletNodeStarting},
		{kubeletBehavior("kubelet.events.node-ready",
			"when its Node's Ready condition is Unknown (as the node lifecycle controller leaves it when heartbeats stop) and the kubelet posts Ready=True, the kubelet MUST record on its Node a Normal Event NodeReady \"Node NAME status is now: NodeReady\"",
			srcKubeletNodeEvents, "Disruptive"), specKubeletNodeReady},
		{kubeletBehavior("kubelet.events.node-status-on-change",
			"while its Node's conditions do not change, the kubelet MUST NOT record its node status Events again: no new NodeHasSufficientMemory, NodeHasNoDiskPressure, NodeHasSufficientPID (nor their opposites), NodeReady or NodeNotReady on its heartbeats",
			srcKubeletNodeEvents), specKubeletNodeStatusQuiet},
	}
}

// nodeEventCounts returns, by reason, how many times the kubelet recorded each Event about its
// Node (the sum of the Events' counts), as kubectl describe node finds them (every namespace,
// involvedObject kind Node and the node's name, UID the node's name or its UID), and the
// messages seen.
func (e *kubeletEnv) nodeEventCounts(ctx context.Context, g gomega.Gomega) (map[string]int32, map[string]string) {
	node, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "getting node %s", e.k.Node)
	sel := fields.Set{"involvedObject.kind": "Node", "involvedObject.name": e.k.Node}.AsSelector().String()
	list, err := e.client.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: sel})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "listing the Events of node %s", e.k.Node)
	counts, msgs := map[string]int32{}, map[string]string{}
	for _, ev := range list.Items {
		o := ev.InvolvedObject
		if o.Kind != "Node" || o.Name != e.k.Node || (o.UID != "" && o.UID != types.UID(e.k.Node) && o.UID != node.UID) {
			continue
		}
		if ev.Source.Component != "kubelet" || ev.Source.Host != e.k.Node || ev.Type != corev1.EventTypeNormal {
			continue
		}
		counts[ev.Reason] += max(ev.Count, 1)
		msgs[ev.Reason] = ev.Message
	}
	return counts, msgs
}

// grew lists the reasons whose count is higher in after than in before.
func grew(before, after map[string]int32) map[string]bool {
	out := map[string]bool{}
	for r, n := range after {
		if n > before[r] {
			out[r] = true
		}
	}
	return out
}

func specKubeletNodeStarting(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.waitNodeReady(ctx, g)
	before, _ := e.nodeEventCounts(ctx, g)
	g.Expect(e.k.StopKubelet(ctx)).To(gomega.Succeed(), "stopping the kubelet")
	stopped := true
	defer func() {
		if stopped {
			_ = e.k.StartKubelet(context.Background())
		}
	}()
	g.Expect(e.k.StartKubelet(ctx)).To(gomega.Succeed(), "starting the kubelet again")
	stopped = false
	g.Eventually(func(g gomega.Gomega) {
		after, msgs := e.nodeEventCounts(ctx, g)
		got := grew(before, after)
		g.Expect(got).To(gomega.HaveKey("Starting"), "no new Starting Event on node %s since the restart (Events by reason: %v)", e.k.Node, after)
		g.Expect(msgs["Starting"]).To(gomega.Equal("Starting kubelet."), "the Starting Event's message")
		for _, pair := range nodePressureReasons {
			r := pair[0]
			if got[pair[1]] {
				r = pair[1]
			}
			g.Expect(got).To(gomega.HaveKey(r), "no new %s (or %s) Event on node %s since the restart (Events by reason: %v)", pair[0], pair[1], e.k.Node, after)
			g.Expect(msgs[r]).To(gomega.Equal(fmt.Sprintf("Node %s status is now: %s", e.k.Node, r)), "the %s Event's message", r)
		}
	}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(gomega.Succeed())
}

// waitNodeReady waits until the kubelet's Node reports Ready=True.
func (e *kubeletEnv) waitNodeReady(ctx context.Context, g gomega.Gomega) {
	g.EventuallyWithOffset(1, func(g gomega.Gomega) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(nodeReady(n)).To(gomega.Equal(corev1.ConditionTrue), "node %s Ready", e.k.Node)
	}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(gomega.Succeed())
}

func specKubeletNodeReady(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.waitNodeReady(ctx, g)
	before, _ := e.nodeEventCounts(ctx, g)
	// Leave the node's conditions as the node lifecycle controller does when heartbeats stop.
	nodes := e.client.CoreV1().Nodes()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := nodes.Get(ctx, e.k.Node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		for i := range n.Status.Conditions {
			c := &n.Status.Conditions[i]
			switch c.Type {
			case corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
				c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status.", now
			}
		}
		_, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "setting node %s's conditions to Unknown", e.k.Node)
	e.waitNodeReady(ctx, g)
	g.Eventually(func(g gomega.Gomega) {
		after, msgs := e.nodeEventCounts(ctx, g)
		g.Expect(grew(before, after)).To(gomega.HaveKey("NodeReady"), "no new NodeReady Event on node %s since its Ready condition was Unknown (Events by reason: %v)", e.k.Node, after)
		g.Expect(msgs["NodeReady"]).To(gomega.Equal(fmt.Sprintf("Node %s status is now: NodeReady", e.k.Node)), "the NodeReady Event's message")
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(gomega.Succeed())
}

// waitLeaseRenewals waits until the node's Lease has been renewed n times more.
func (e *kubeletEnv) waitLeaseRenewals(ctx context.Context, g gomega.Gomega, n int) {
	leases := e.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	var last *metav1.MicroTime
	seen := -1
	g.EventuallyWithOffset(1, func(g gomega.Gomega) {
		l, err := leases.Get(ctx, e.k.Node, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "getting the Lease of node %s", e.k.Node)
		if r := l.Spec.RenewTime; r != nil && (last == nil || !r.Equal(last)) {
			last, seen = r, seen+1
		}
		g.Expect(seen).To(gomega.BeNumerically(">=", n), "renewals of the Lease of node %s", e.k.Node)
	}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(100 * time.Millisecond).Should(gomega.Succeed())
}

func specKubeletNodeStatusQuiet(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.waitNodeReady(ctx, g)
	// Let the Events of the node's registration reach the API first.
	e.waitLeaseRenewals(ctx, g, 2)
	before, _ := e.nodeEventCounts(ctx, g)
	// A kubelet renews its Lease every quarter of its duration and checks its status at least
	// as often: four renewals cover several status checks.
	e.waitLeaseRenewals(ctx, g, 4)
	after, _ := e.nodeEventCounts(ctx, g)
	status := []string{"NodeReady", "NodeNotReady"}
	for _, pair := range nodePressureReasons {
		status = append(status, pair[0], pair[1])
	}
	for _, r := range status {
		g.Expect(after[r]).To(gomega.Equal(before[r]), "node %s's conditions did not change, yet the kubelet recorded %s again (Events by reason before: %v, after: %v)", e.k.Node, r, before, after)
	}
}
