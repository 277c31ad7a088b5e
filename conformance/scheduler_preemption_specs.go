package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// srcSchedPreemption: what the scheduler's preemption does.
const srcSchedPreemption = "Kubernetes: Pod Priority and Preemption (kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption); pkg/scheduler/framework/plugins/defaultpreemption, framework/preemption"

// schedulerPreemptionSpecs are the specs of preemption: a Pod that fits
// nowhere evicting Pods of lower priority.
func schedulerPreemptionSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{Behavior{ID: "scheduler.preemption.basic", Component: "scheduler", Source: srcSchedPreemption, Needs: []Capability{Preemption},
			Must: "a Pod that fits no node MUST, when deleting Pods of lower priority from a node makes room, get status.nominatedNodeName of that node; each such Pod MUST get DisruptionTarget=True (reason PreemptionByScheduler) and be deleted, with a Normal Event Preempted regarding it; and the Pod MUST then be bound to that node"}, specSchedPreemptBasic},
		{sched("scheduler.preemption.lower-only", "a Pod MUST NOT preempt Pods of equal or higher priority: when only they hold the room it needs, it MUST stay Pending (Unschedulable, no nominatedNodeName) and they MUST stay, not deleted", srcSchedPreemption), specSchedPreemptLowerOnly},
		{sched("scheduler.preemption.policy-never", "a Pod with preemptionPolicy Never MUST NOT preempt Pods of lower priority: it MUST stay Pending and they MUST stay; it MUST be placed once room appears", srcSchedPreemption), specSchedPreemptNever},
		{Behavior{ID: "scheduler.preemption.minimal-victims", Component: "scheduler", Source: srcSchedPreemption, Needs: []Capability{Preemption},
			Must: "preemption MUST delete only as many Pods as the preemptor needs, the lowest-priority ones, and MUST choose the node whose highest-priority victim has the lowest priority"}, specSchedPreemptMinimal},
		{Behavior{ID: "scheduler.preemption.pdb", Component: "scheduler", Source: srcSchedPreemption, Needs: []Capability{Preemption},
			Must: "preemption MUST prefer a node where no PodDisruptionBudget would be violated: the Pod covered by a budget allowing no disruption MUST stay when an equal victim elsewhere is not covered"}, specSchedPreemptPDB},
		{Behavior{ID: "scheduler.preemption.message", Component: "scheduler", Source: srcSchedPreemptMsg, Needs: []Capability{Preemption},
			Must: "the PodScheduled message of a Pod that fits no node MUST end with what preemption found, as kube-scheduler words it: \"preemption: 0/N nodes are available: 1 No preemption victims found for incoming pod, M Preemption is not helpful for scheduling.\" when no node holds lower-priority Pods, and \"preemption: not eligible due to preemptionPolicy=Never.\" for a Pod that may not preempt"}, specSchedPreemptMessage},
	}
}

// srcSchedPreemptMsg: the wording of preemption's part of the message.
const srcSchedPreemptMsg = "pkg/scheduler/framework/types.go FitError.Error (\"0/X nodes are available: <filter reasons>. <PostFilterMsg>\"); pkg/scheduler/framework/plugins/defaultpreemption (\"preemption: \" + the evaluator's message) and framework/preemption (nodes without lower-priority pods: \"No preemption victims found for incoming pod\"; nodes rejected as unresolvable: \"Preemption is not helpful for scheduling\"; \"not eligible due to preemptionPolicy=Never.\")"

func specSchedPreemptMessage(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	n := e.node(ctx, g, "pmsg", "1", "2Gi")
	never := e.priorityClass(ctx, g, "never", 1000, corev1.PreemptNever)
	e.create(ctx, g, e.schedPod("holder", "800m", "16Mi", pinned(n)))
	e.placedOn(ctx, g, "holder", n)
	// Equal priority: no victims on the node; every other node is rejected
	// by the nodeSelector, which preemption cannot change.
	e.create(ctx, g, e.schedPod("peer", "500m", "16Mi", pinned(n)))
	e.unschedulable(ctx, g, "peer", gomega.MatchRegexp(`^0/\d+ nodes are available: 1 Insufficient cpu(, \d+ node\(s\) didn't match Pod's node affinity/selector)?\. `+
		`preemption: 0/\d+ nodes are available: 1 No preemption victims found for incoming pod(, \d+ Preemption is not helpful for scheduling)?\.$`),
		"preemption's part must count the node without victims and the nodes it cannot help")
	// Higher priority, but preemptionPolicy Never.
	e.create(ctx, g, e.schedPod("never", "500m", "16Mi", pinned(n), withPriorityClass(never)))
	e.unschedulable(ctx, g, "never", gomega.MatchRegexp(`^0/\d+ nodes are available: 1 Insufficient cpu.*\. preemption: not eligible due to preemptionPolicy=Never\.$`),
		"a Pod that may not preempt must say so")
	e.stayPending(ctx, g, "no room and nothing may be preempted", "peer", "never")
}

// priorityClass creates a PriorityClass of the spec (named after its node
// prefix), deleted when the spec ends, and returns its name.
func (e *schedEnv) priorityClass(ctx context.Context, g gomega.Gomega, short string, value int32, policy corev1.PreemptionPolicy) string {
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: e.prefix + short}, Value: value}
	if policy != "" {
		pc.PreemptionPolicy = &policy
	}
	_, err := e.client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating PriorityClass %s", pc.Name)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.client.SchedulingV1().PriorityClasses().Delete(cctx, pc.Name, metav1.DeleteOptions{})
	})
	return pc.Name
}

func withPriorityClass(name string) podOpt {
	return func(p *corev1.Pod) { p.Spec.PriorityClassName = name }
}

func withLabel(k, v string) podOpt { return func(p *corev1.Pod) { p.Labels[k] = v } }

// podWatch records what a watch on the spec's pods saw: every
// nominatedNodeName a pod had, and the pods that got DisruptionTarget=True
// reason PreemptionByScheduler.
type podWatch struct {
	mu        sync.Mutex
	nominated map[string]string
	disrupted map[string]bool
	stop      func()
}

func (e *schedEnv) watchPods(ctx context.Context, g gomega.Gomega) *podWatch {
	w, err := e.client.CoreV1().Pods(e.ns).Watch(ctx, metav1.ListOptions{})
	ok(g, err, "watching the spec's pods")
	pw := &podWatch{nominated: map[string]string{}, disrupted: map[string]bool{}, stop: w.Stop}
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified && ev.Type != watch.Deleted {
				continue
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			pw.mu.Lock()
			if p.Status.NominatedNodeName != "" {
				pw.nominated[p.Name] = p.Status.NominatedNodeName
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler {
					pw.disrupted[p.Name] = true
				}
			}
			pw.mu.Unlock()
		}
	}()
	return pw
}

func (pw *podWatch) nominatedOf(name string) string {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.nominated[name]
}

func (pw *podWatch) wasDisrupted(name string) bool {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.disrupted[name]
}

// gone waits until the pod no longer exists.
func (e *schedEnv) gone(ctx context.Context, g gomega.Gomega, name, why string) {
	g.Eventually(func() bool {
		_, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.BeTrue(), func() string {
		return fmt.Sprintf("pod %s must be deleted: %s; the spec's pods: %s", name, why, e.podSummary(ctx))
	})
}

// podSummary describes the spec's pods (node, nomination, PodScheduled
// message, deletion) for failure messages.
func (e *schedEnv) podSummary(ctx context.Context) string {
	list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range list.Items {
		fmt.Fprintf(&b, "\n  %s: priority %d node %q nominated %q deleting %v", p.Name, ptr.Deref(p.Spec.Priority, 0), p.Spec.NodeName, p.Status.NominatedNodeName, p.DeletionTimestamp != nil)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(&b, "; %s=%s %s %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return b.String()
}

// stayUndeleted asserts the pods exist without a deletionTimestamp for
// schedQuiet.
func (e *schedEnv) stayUndeleted(ctx context.Context, g gomega.Gomega, why string, names ...string) {
	g.Consistently(func() []string {
		var bad []string
		for _, n := range names {
			p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil || p.DeletionTimestamp != nil {
				bad = append(bad, n)
			}
		}
		return bad
	}).WithTimeout(schedQuiet).WithPolling(100*time.Millisecond).Should(gomega.BeEmpty(), "pods that must not be preempted (%s) were deleted", why)
}

func specSchedPreemptBasic(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	low := e.priorityClass(ctx, g, "low", 10, "")
	high := e.priorityClass(ctx, g, "high", 1000, "")
	node := e.node(ctx, g, "solo", "2", "4Gi")
	e.create(ctx, g, e.schedPod("victim", "2", "1Gi", onNode(node), withPriorityClass(low)))
	pw := e.watchPods(ctx, g)
	defer pw.stop()
	e.create(ctx, g, e.schedPod("preemptor", "1", "1Gi", withPriorityClass(high)))
	victim, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "victim", metav1.GetOptions{})
	ok(g, err, "get pod victim")
	e.gone(ctx, g, "victim", "the only pod holding the room the higher-priority pod needs must be preempted")
	e.placedOn(ctx, g, "preemptor", node)
	g.Eventually(func() string { return pw.nominatedOf("preemptor") }).WithTimeout(schedWait).WithPolling(schedPoll).
		Should(gomega.Equal(node), "the preemptor must have been nominated to the node through status.nominatedNodeName")
	g.Eventually(func() bool { return pw.wasDisrupted("victim") }).WithTimeout(schedWait).WithPolling(schedPoll).
		Should(gomega.BeTrue(), "the victim must get DisruptionTarget=True, reason PreemptionByScheduler, before it goes")
	g.Eventually(func(g gomega.Gomega) {
		var reasons []string
		for _, ev := range e.podEvents(ctx, g, "victim", victim.UID) {
			reasons = append(reasons, ev.Type+" "+ev.Reason)
		}
		g.Expect(reasons).To(gomega.ContainElement("Normal Preempted"), "the victim's Events")
	}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.Succeed())
}

func specSchedPreemptLowerOnly(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	high := e.priorityClass(ctx, g, "high", 1000, "")
	top := e.priorityClass(ctx, g, "top", 2000, "")
	node := e.node(ctx, g, "solo", "2", "4Gi")
	e.create(ctx, g, e.schedPod("equal", "1", "1Gi", onNode(node), withPriorityClass(high)))
	e.create(ctx, g, e.schedPod("higher", "1", "1Gi", onNode(node), withPriorityClass(top)))
	e.create(ctx, g, e.schedPod("preemptor", "1", "1Gi", withPriorityClass(high)))
	e.unschedulable(ctx, g, "preemptor", gomega.ContainSubstring("Insufficient cpu"), "only pods of equal or higher priority hold the cpu")
	e.stayUndeleted(ctx, g, "equal and higher priority", "equal", "higher")
	e.stayPending(ctx, g, "nothing may be preempted for it", "preemptor")
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "preemptor", metav1.GetOptions{})
	ok(g, err, "get pod preemptor")
	g.Expect(p.Status.NominatedNodeName).To(gomega.BeEmpty(), "a pod that can preempt nothing must not be nominated")
}

func specSchedPreemptNever(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	low := e.priorityClass(ctx, g, "low", 10, "")
	never := e.priorityClass(ctx, g, "never", 1000, corev1.PreemptNever)
	node := e.node(ctx, g, "solo", "2", "4Gi")
	e.create(ctx, g, e.schedPod("victim", "2", "1Gi", onNode(node), withPriorityClass(low)))
	e.create(ctx, g, e.schedPod("polite", "1", "1Gi", withPriorityClass(never)))
	e.unschedulable(ctx, g, "polite", gomega.ContainSubstring("Insufficient cpu"), "the lower-priority pod holds the cpu")
	e.stayUndeleted(ctx, g, "the pending pod's preemptionPolicy is Never", "victim")
	e.stayPending(ctx, g, "preemptionPolicy Never", "polite")
	e.deletePod(ctx, g, "victim")
	e.placedOn(ctx, g, "polite", node)
}

func specSchedPreemptMinimal(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	p10 := e.priorityClass(ctx, g, "p10", 10, "")
	p20 := e.priorityClass(ctx, g, "p20", 20, "")
	p30 := e.priorityClass(ctx, g, "p30", 30, "")
	high := e.priorityClass(ctx, g, "high", 1000, "")
	three := e.node(ctx, g, "three", "3", "6Gi")
	one := e.node(ctx, g, "one", "1", "6Gi")
	e.create(ctx, g, e.schedPod("low10", "1", "1Gi", onNode(three), withPriorityClass(p10)))
	e.create(ctx, g, e.schedPod("mid20", "1", "1Gi", onNode(three), withPriorityClass(p20)))
	e.create(ctx, g, e.schedPod("upper30", "1", "1Gi", onNode(three), withPriorityClass(p30)))
	e.create(ctx, g, e.schedPod("alone20", "1", "1Gi", onNode(one), withPriorityClass(p20)))
	e.create(ctx, g, e.schedPod("preemptor", "1", "1Gi", withPriorityClass(high)))
	e.gone(ctx, g, "low10", "it is the lowest-priority pod, and the only one that must go")
	e.placedOn(ctx, g, "preemptor", three)
	e.stayUndeleted(ctx, g, "one victim is enough; the other node's victim has a higher priority", "mid20", "upper30", "alone20")
}

func specSchedPreemptPDB(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	low := e.priorityClass(ctx, g, "low", 10, "")
	high := e.priorityClass(ctx, g, "high", 1000, "")
	pdbs := e.client.PolicyV1().PodDisruptionBudgets(e.ns)
	one := intstr.FromInt32(1)
	created, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guarded"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
	}, metav1.CreateOptions{})
	ok(g, err, "creating PodDisruptionBudget guarded")
	// No disruption controller runs here: the spec writes the status one
	// would (one healthy pod, one required, no disruption allowed).
	g.Eventually(func() error {
		cur, err := pdbs.Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.Status.ObservedGeneration == cur.Generation && cur.Status.DisruptionsAllowed == 0 && cur.Status.CurrentHealthy == 1 {
			return nil
		}
		cur.Status.ObservedGeneration = cur.Generation
		cur.Status.ExpectedPods, cur.Status.CurrentHealthy, cur.Status.DesiredHealthy, cur.Status.DisruptionsAllowed = 1, 1, 1, 0
		_, err = pdbs.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	}).WithTimeout(schedWait).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "writing the status of PodDisruptionBudget guarded")
	a := e.node(ctx, g, "a", "1", "4Gi")
	b := e.node(ctx, g, "b", "1", "4Gi")
	e.create(ctx, g, e.schedPod("guarded", "1", "1Gi", onNode(a), withPriorityClass(low), withLabel("app", "guarded")))
	e.create(ctx, g, e.schedPod("free", "1", "1Gi", onNode(b), withPriorityClass(low), withLabel("app", "free")))
	e.create(ctx, g, e.schedPod("preemptor", "1", "1Gi", withPriorityClass(high)))
	e.gone(ctx, g, "free", "the victim no budget protects must be chosen")
	e.placedOn(ctx, g, "preemptor", b)
	e.stayUndeleted(ctx, g, "its budget allows no disruption and another node needs none", "guarded")
}
