package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/onsi/gomega"
	gomegatypes "github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Sources of the scheduler behaviours.
const (
	srcSchedResources = "seed: \"It looks at each node's available CPU and memory, compares them against the Pod's resource requests\""
	srcSchedConstrain = "seed: \"checks for any constraints you've declared (like requiring a specific label on the node, or avoiding nodes with a certain taint)\""
	srcSchedBestFit   = "seed: \"and picks the best fit\"; Kubernetes: Resource Bin Packing (NodeResourcesFit scoring strategies)"
	srcSchedNoStart   = "seed: \"The scheduler does not start the Pod - it only decides where it goes.\""
	srcSchedCatchUp   = "seed: \"If any component is temporarily unavailable, the others continue working and catch up when it returns.\""
	srcSchedTaints    = "Kubernetes: Taints and Tolerations (kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration)"
	srcSchedAffinity  = "Kubernetes: Assigning Pods to Nodes (kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node)"
	srcSchedCordon    = "Kubernetes: Nodes, manual node administration (kubectl cordon marks a node unschedulable)"
	srcSchedMultiple  = "Kubernetes: Configure Multiple Schedulers (spec.schedulerName)"
	srcSchedPending   = "Kubernetes: Pod lifecycle, PodScheduled condition (reason Unschedulable)"
	srcSchedControl   = "seed: \"the control plane components run on a dedicated node that doesn't accept user workloads\""
)

// Timings of the scheduler specs.
const (
	// schedWait bounds how long a scheduler may take to place a pod (or to
	// react to a cluster change).
	schedWait = 30 * time.Second
	// schedQuiet is how long a pod that must not be placed is watched.
	schedQuiet = 2 * time.Second
	schedPoll  = 50 * time.Millisecond
)

func sched(id, must, source string) Behavior {
	return Behavior{ID: id, Component: "scheduler", Must: must, Source: source}
}

func schedulerSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{sched("scheduler.fit.requests", "a Pod MUST NOT be placed on a node whose allocatable cpu or memory is below the Pod's requests, and MUST be placed once a node with room is added", srcSchedResources), specSchedRequests},
		{sched("scheduler.fit.bound-pods", "a Pod MUST NOT be placed on a node whose allocatable minus the requests of the Pods already bound to it is below the Pod's requests", srcSchedResources), specSchedBoundPods},
		{sched("scheduler.fit.pod-count", "a Pod MUST NOT be placed on a node already holding as many Pods as its allocatable pods, and MUST be placeable on a node with one Pod left of them", srcSchedResources), specSchedPodCount},
		{sched("scheduler.fit.burst", "Pods created at once MUST NOT overcommit any node: of 12 Pods of 1 cpu on three 2-cpu nodes exactly 6 are placed, 2 per node, and the rest stay Pending", srcSchedResources), specSchedBurst},
		{sched("scheduler.affinity.node-selector", "a Pod with a nodeSelector MUST be placed only on a node carrying every selected label, and MUST stay Pending when no node does", srcSchedAffinity), specSchedNodeSelector},
		{sched("scheduler.affinity.required", "a Pod with required node affinity MUST be placed only on a node matching one of its terms (In, NotIn, Exists)", srcSchedAffinity), specSchedRequiredAffinity},
		{sched("scheduler.taints.tolerations", "a Pod MUST NOT be placed on a node with a NoSchedule or NoExecute taint it does not tolerate, and MAY be placed there when it tolerates it", srcSchedTaints), specSchedTaints},
		{sched("scheduler.taints.control-plane", "user Pods without a toleration MUST NOT be placed on a node tainted node-role.kubernetes.io/control-plane:NoSchedule, even when it is the only node with room", srcSchedControl), specSchedControlPlane},
		{sched("scheduler.nodes.cordoned", "a Pod MUST NOT be placed on a cordoned node (spec.unschedulable), and MUST be placed there once the node is uncordoned", srcSchedCordon), specSchedCordoned},
		{Behavior{ID: "scheduler.score.best-fit", Component: "scheduler", Source: srcSchedBestFit, Needs: []Capability{Scoring},
			Must: "among feasible nodes a Pod MUST be placed on the best fit of the declared scoring: the emptiest node for LeastAllocated, the fullest node that fits for MostAllocated"}, specSchedBestFit},
		{sched("scheduler.pending.unschedulable", "a Pod that fits no node MUST stay Pending with PodScheduled=False, reason Unschedulable and a message \"0/N nodes are available: …\", and MUST be placed when a Pod on a node is deleted and frees room", srcSchedPending), specSchedUnschedulable},
		{sched("scheduler.bind.not-started", "a placed Pod MUST get spec.nodeName and nothing else: without a kubelet it MUST stay bound, Pending, with no container statuses", srcSchedNoStart), specSchedNotStarted},
		{sched("scheduler.name.own-pods-only", "a scheduler MUST place only Pods whose spec.schedulerName is its own", srcSchedMultiple), specSchedOwnPodsOnly},
		{sched("scheduler.restart.catch-up", "while the scheduler is stopped new Pods MUST stay Pending, and once it is started again every one of them MUST be placed", srcSchedCatchUp), specSchedCatchUp},
	}
}

// nodeOpt changes a node before it is created.
type nodeOpt func(*corev1.Node)

func withLabels(kv ...string) nodeOpt {
	return func(n *corev1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func withTaint(key, value string, effect corev1.TaintEffect) nodeOpt {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func withPods(n int64) nodeOpt {
	return func(node *corev1.Node) {
		q := *resource.NewQuantity(n, resource.DecimalSI)
		node.Status.Capacity[corev1.ResourcePods] = q
		node.Status.Allocatable[corev1.ResourcePods] = q
	}
}

func cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

// node creates a Node object (no kubelet behind it) with the given
// allocatable and returns its full name.
func (e *schedEnv) node(ctx context.Context, g gomega.Gomega, short, cpu, mem string, opts ...nodeOpt) string {
	name := e.prefix + short
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(mem),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
		Status: corev1.NodeStatus{
			Capacity:    res.DeepCopy(),
			Allocatable: res.DeepCopy(),
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	created, err := e.client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	ok(g, err, "creating node "+name)
	if created.Status.Allocatable.Cpu().IsZero() {
		// An API server that drops status on create: set it through the
		// status subresource.
		created.Status = n.Status
		_, err = e.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
		ok(g, err, "setting the status of node "+name)
	}
	return name
}

// podOpt changes a pod before it is created.
type podOpt func(*corev1.Pod)

func onNode(node string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = node } }

func selecting(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func tolerating(key string, effect corev1.TaintEffect) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
	}
}

func scheduledBy(name string) podOpt { return func(p *corev1.Pod) { p.Spec.SchedulerName = name } }

// schedPod is a pod of the spec's scheduler with cpu and memory requests
// ("" requests nothing).
func (e *schedEnv) schedPod(name, cpu, mem string, opts ...podOpt) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{"ck-spec": "scheduler"}},
		Spec: corev1.PodSpec{
			SchedulerName:                 e.name,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers:                    []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10", Resources: corev1.ResourceRequirements{Requests: req}}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (e *schedEnv) create(ctx context.Context, g gomega.Gomega, p *corev1.Pod) {
	created, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	ok(g, err, "creating pod "+p.Name)
	if p.Spec.PriorityClassName != "" {
		g.ExpectWithOffset(1, created.Spec.Priority).NotTo(gomega.BeNil(),
			"pod %s names PriorityClass %s but got no spec.priority: the API server under test must run the Priority admission", p.Name, p.Spec.PriorityClassName)
	}
}

// nodeOf returns the pod's spec.nodeName ("" when pending or missing).
func (e *schedEnv) nodeOf(ctx context.Context, name string) string {
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return p.Spec.NodeName
}

// placed waits until the pod is bound and returns its node.
func (e *schedEnv) placed(ctx context.Context, g gomega.Gomega, name string) string {
	g.Eventually(func() string { return e.nodeOf(ctx, name) }).WithTimeout(schedWait).WithPolling(schedPoll).
		ShouldNot(gomega.BeEmpty(), "pod %s was not placed within %s", name, schedWait)
	return e.nodeOf(ctx, name)
}

// placedOn waits until the pod is bound and asserts its node.
func (e *schedEnv) placedOn(ctx context.Context, g gomega.Gomega, name, node string) {
	g.ExpectWithOffset(1, e.placed(ctx, g, name)).To(gomega.Equal(node), "pod %s placed on the wrong node", name)
}

// stayPending asserts the pods stay unbound for schedQuiet.
func (e *schedEnv) stayPending(ctx context.Context, g gomega.Gomega, why string, names ...string) {
	g.Consistently(func() map[string]string {
		bound := map[string]string{}
		for _, n := range names {
			if node := e.nodeOf(ctx, n); node != "" {
				bound[n] = node
			}
		}
		return bound
	}).WithTimeout(schedQuiet).WithPolling(100*time.Millisecond).Should(gomega.BeEmpty(), "pods that must stay Pending (%s) were placed", why)
}

// unschedulable waits for PodScheduled=False, reason Unschedulable, with a
// message that matches msg. The message is the scheduler's latest attempt,
// which may predate nodes or pods it has not seen yet (a first attempt
// before any node says "no nodes available to schedule pods"), so the spec waits for the
// message it asserts rather than checking the first one it reads.
func (e *schedEnv) unschedulable(ctx context.Context, g gomega.Gomega, name string, msg gomegatypes.GomegaMatcher, why string) {
	e.notScheduled(ctx, g, name, corev1.PodReasonUnschedulable, "fits no node", msg, why)
}

// notScheduled waits for the pod's PodScheduled=False with reason and a message that matches
// msg; it stops at once if the pod, which must stay unbound (because unbound says why), is bound.
func (e *schedEnv) notScheduled(ctx context.Context, g gomega.Gomega, name, reason, unbound string, msg gomegatypes.GomegaMatcher, why string) {
	g.Eventually(func(g gomega.Gomega) {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "get pod %s", name)
		if p.Spec.NodeName != "" {
			gomega.StopTrying(fmt.Sprintf("pod %s, which %s, was placed on %s", name, unbound, p.Spec.NodeName)).Now()
		}
		var cond *corev1.PodCondition
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.PodScheduled {
				cond = &p.Status.Conditions[i]
			}
		}
		g.Expect(cond).NotTo(gomega.BeNil(), "pod %s has no PodScheduled condition", name)
		g.Expect(fmt.Sprintf("PodScheduled=%s reason %s", cond.Status, cond.Reason)).To(gomega.Equal("PodScheduled=False reason "+reason), "pod %s must be reported with reason %s", name, reason)
		g.Expect(cond.Message).To(msg, why)
	}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.Succeed())
}

func (e *schedEnv) deletePod(ctx context.Context, g gomega.Gomega, name string) {
	err := e.client.CoreV1().Pods(e.ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if err != nil && !apierrors.IsNotFound(err) {
		ok(g, err, "deleting pod "+name)
	}
	g.Eventually(func() bool {
		_, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.BeTrue(), "pod %s must go after a delete with grace period 0", name)
}

func specSchedRequests(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	e.node(ctx, g, "few-cpu", "500m", "8Gi")
	e.node(ctx, g, "few-mem", "8", "256Mi")
	e.create(ctx, g, e.schedPod("big", "1", "1Gi"))
	e.stayPending(ctx, g, "one node lacks cpu, the other memory", "big")
	e.unschedulable(ctx, g, "big", gomega.And(gomega.ContainSubstring("Insufficient cpu"), gomega.ContainSubstring("Insufficient memory")),
		"the Unschedulable message must name both missing resources")
	roomy := e.node(ctx, g, "roomy", "2", "2Gi")
	e.placedOn(ctx, g, "big", roomy)
}

func specSchedBoundPods(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	busy := e.node(ctx, g, "busy", "2", "4Gi")
	crowded := e.node(ctx, g, "crowded", "8", "4Gi")
	e.create(ctx, g, e.schedPod("cpu-hog", "1500m", "1Gi", onNode(busy)))
	e.create(ctx, g, e.schedPod("mem-hog", "500m", "3584Mi", onNode(crowded)))
	e.create(ctx, g, e.schedPod("newcomer", "1", "1Gi"))
	e.stayPending(ctx, g, "what is left on each node is too small", "newcomer")
	idle := e.node(ctx, g, "idle", "2", "4Gi")
	e.placedOn(ctx, g, "newcomer", idle)
}

func specSchedPodCount(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	full := e.node(ctx, g, "full", "8", "16Gi", withPods(2))
	e.create(ctx, g, e.schedPod("one", "", "", onNode(full)))
	e.create(ctx, g, e.schedPod("two", "", "", onNode(full)))
	e.create(ctx, g, e.schedPod("three", "100m", "64Mi"))
	e.stayPending(ctx, g, "the only node holds its maximum of pods", "three")
	// The last slot of a node is a slot: allocatable pods 1, none yet.
	spare := e.node(ctx, g, "spare", "1", "1Gi", withPods(1))
	e.placedOn(ctx, g, "three", spare)
}

func specSchedBurst(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	for _, n := range []string{"a", "b", "c"} {
		e.node(ctx, g, "burst-"+n, "2", "8Gi")
	}
	const pods = 12
	var wg sync.WaitGroup
	errs := make(chan error, pods)
	for i := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, e.schedPod(fmt.Sprintf("burst-%02d", i), "1", "256Mi"), metav1.CreateOptions{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(g, err, "creating a pod of the burst")
	}
	perNode := func() map[string]int {
		list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return map[string]int{"error: " + err.Error(): 0}
		}
		m := map[string]int{}
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				m[p.Spec.NodeName]++
				if m[p.Spec.NodeName] > 2 {
					gomega.StopTrying(fmt.Sprintf("node %s got a third pod of 1 cpu: %v", p.Spec.NodeName, m)).Now()
				}
			}
		}
		return m
	}
	want := map[string]int{e.prefix + "burst-a": 2, e.prefix + "burst-b": 2, e.prefix + "burst-c": 2}
	g.Eventually(perNode).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.Equal(want), "6 of the 12 pods must be placed, 2 on each node")
	g.Consistently(perNode).WithTimeout(schedQuiet).WithPolling(100*time.Millisecond).Should(gomega.Equal(want), "no node may get a third pod")
}

func specSchedNodeSelector(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	for _, n := range []string{"hdd-1", "hdd-2", "hdd-3"} {
		e.node(ctx, g, n, "4", "8Gi", withLabels("ck-disk", "hdd"))
	}
	ssd := e.node(ctx, g, "ssd", "4", "8Gi", withLabels("ck-disk", "ssd", "ck-tier", "fast"))
	for i := range 3 {
		e.create(ctx, g, e.schedPod(fmt.Sprintf("wants-ssd-%d", i), "100m", "64Mi", selecting("ck-disk", "ssd", "ck-tier", "fast")))
	}
	e.create(ctx, g, e.schedPod("wants-nvme", "100m", "64Mi", selecting("ck-disk", "nvme")))
	for i := range 3 {
		e.placedOn(ctx, g, fmt.Sprintf("wants-ssd-%d", i), ssd)
	}
	e.stayPending(ctx, g, "no node has the selected label", "wants-nvme")
	e.unschedulable(ctx, g, "wants-nvme", gomega.ContainSubstring("didn't match Pod's node affinity/selector"), "the message must name the selector")
}

func specSchedRequiredAffinity(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	zone := "ck-zone"
	e.node(ctx, g, "zone-a", "4", "8Gi", withLabels(zone, "a"))
	e.node(ctx, g, "zone-b", "4", "8Gi", withLabels(zone, "b"))
	c := e.node(ctx, g, "zone-c", "4", "8Gi", withLabels(zone, "c", "ck-gpu", "yes"))
	affinity := func(reqs ...corev1.NodeSelectorRequirement) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}},
			}}
		}
	}
	e.create(ctx, g, e.schedPod("in", "100m", "64Mi", affinity(corev1.NodeSelectorRequirement{Key: zone, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "d"}})))
	e.create(ctx, g, e.schedPod("not-in", "100m", "64Mi", affinity(corev1.NodeSelectorRequirement{Key: zone, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"a", "b"}})))
	e.create(ctx, g, e.schedPod("exists", "100m", "64Mi", affinity(corev1.NodeSelectorRequirement{Key: "ck-gpu", Operator: corev1.NodeSelectorOpExists})))
	e.create(ctx, g, e.schedPod("nowhere", "100m", "64Mi", affinity(corev1.NodeSelectorRequirement{Key: zone, Operator: corev1.NodeSelectorOpIn, Values: []string{"z"}})))
	for _, p := range []string{"in", "not-in", "exists"} {
		e.placedOn(ctx, g, p, c)
	}
	e.stayPending(ctx, g, "no node matches the affinity", "nowhere")
}

func specSchedTaints(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	db := e.node(ctx, g, "db", "8", "16Gi", withLabels("ck-role", "db"), withTaint("ck-dedicated", "db", corev1.TaintEffectNoSchedule))
	e.node(ctx, g, "draining", "8", "16Gi", withLabels("ck-role", "draining"), withTaint("ck-draining", "", corev1.TaintEffectNoExecute))
	plain := e.node(ctx, g, "plain", "1", "2Gi")
	for i := range 3 {
		e.create(ctx, g, e.schedPod(fmt.Sprintf("plain-%d", i), "200m", "128Mi"))
	}
	e.create(ctx, g, e.schedPod("db-intolerant", "200m", "128Mi", selecting("ck-role", "db")))
	e.create(ctx, g, e.schedPod("db-tolerant", "200m", "128Mi", selecting("ck-role", "db"), tolerating("ck-dedicated", corev1.TaintEffectNoSchedule)))
	e.create(ctx, g, e.schedPod("drain-intolerant", "200m", "128Mi", selecting("ck-role", "draining")))
	for i := range 3 {
		e.placedOn(ctx, g, fmt.Sprintf("plain-%d", i), plain)
	}
	e.placedOn(ctx, g, "db-tolerant", db)
	e.stayPending(ctx, g, "the selected nodes carry untolerated taints", "db-intolerant", "drain-intolerant")
	e.unschedulable(ctx, g, "db-intolerant", gomega.ContainSubstring("untolerated taint"), "the message must name the taint")
}

func specSchedControlPlane(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	e.node(ctx, g, "control-plane", "16", "64Gi", withLabels("node-role.kubernetes.io/control-plane", ""),
		withTaint("node-role.kubernetes.io/control-plane", "", corev1.TaintEffectNoSchedule))
	worker := e.node(ctx, g, "worker", "1", "2Gi")
	e.create(ctx, g, e.schedPod("user-1", "400m", "128Mi"))
	e.create(ctx, g, e.schedPod("user-2", "400m", "128Mi"))
	e.placedOn(ctx, g, "user-1", worker)
	e.placedOn(ctx, g, "user-2", worker)
	e.create(ctx, g, e.schedPod("user-3", "400m", "128Mi"))
	e.stayPending(ctx, g, "only the control-plane node has room", "user-3")
}

func specSchedCordoned(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	off := e.node(ctx, g, "cordoned", "8", "16Gi", cordoned)
	open := e.node(ctx, g, "open", "1", "2Gi")
	e.create(ctx, g, e.schedPod("first", "400m", "128Mi"))
	e.create(ctx, g, e.schedPod("second", "400m", "128Mi"))
	e.placedOn(ctx, g, "first", open)
	e.placedOn(ctx, g, "second", open)
	e.create(ctx, g, e.schedPod("third", "400m", "128Mi"))
	e.stayPending(ctx, g, "only the cordoned node has room", "third")
	e.unschedulable(ctx, g, "third", gomega.ContainSubstring("unschedulable"), "the message must name the cordon")
	n, err := e.client.CoreV1().Nodes().Get(ctx, off, metav1.GetOptions{})
	ok(g, err, "get the cordoned node")
	n.Spec.Unschedulable = false
	_, err = e.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	ok(g, err, "uncordon")
	e.placedOn(ctx, g, "third", off)
}

func specSchedBestFit(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	full := e.node(ctx, g, "mostly-full", "4", "8Gi")
	half := e.node(ctx, g, "half-full", "4", "8Gi")
	empty := e.node(ctx, g, "empty", "4", "8Gi")
	// The load is placed by the scheduler itself, pinned by hostname, and the
	// spec waits for those placements: they are what the spec can observe of
	// the scheduler's view. Each one shows the scheduler knows the node, and
	// a scheduler counts what it placed (assumed) at once. Pods bound by
	// someone else, or nodes just created, reach the scheduler through its
	// watches at a time no spec can see, and a decision taken before then is
	// not a wrong score. "empty" gets a pod that requests nothing, so it
	// stays the emptiest while showing it is known.
	pin := func(node string) podOpt { return selecting(corev1.LabelHostname, node) }
	// Usage in equal cpu and memory shares, so balance favours no node.
	e.create(ctx, g, e.schedPod("load-full", "3", "6Gi", pin(full)))
	e.create(ctx, g, e.schedPod("load-half", "2", "4Gi", pin(half)))
	e.create(ctx, g, e.schedPod("known-empty", "", "", pin(empty)))
	e.placedOn(ctx, g, "load-full", full)
	e.placedOn(ctx, g, "load-half", half)
	e.placedOn(ctx, g, "known-empty", empty)
	e.create(ctx, g, e.schedPod("fit", "500m", "1Gi"))
	want := empty
	if e.h.Scoring == interfaces.MostAllocated {
		want = full
	}
	e.placedOn(ctx, g, "fit", want)
}

func specSchedUnschedulable(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	only := e.node(ctx, g, "only", "1", "2Gi")
	e.create(ctx, g, e.schedPod("hog", "1", "256Mi", onNode(only)))
	e.create(ctx, g, e.schedPod("waiter", "500m", "256Mi"))
	e.unschedulable(ctx, g, "waiter", gomega.And(gomega.HavePrefix("0/1 nodes are available"), gomega.ContainSubstring("1 Insufficient cpu")),
		"the message must count the nodes, and the nodes per reason, like Kubernetes")
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "waiter", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(p.Status.Phase).To(gomega.Equal(corev1.PodPending))
	e.deletePod(ctx, g, "hog")
	e.placedOn(ctx, g, "waiter", only)
}

func specSchedNotStarted(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "no-kubelet", "2", "4Gi")
	e.create(ctx, g, e.schedPod("bound", "100m", "64Mi"))
	e.placedOn(ctx, g, "bound", node)
	g.Consistently(func() string {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "bound", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		var problems []string
		if p.Spec.NodeName != node {
			problems = append(problems, "moved to "+p.Spec.NodeName)
		}
		if p.Status.Phase != corev1.PodPending {
			problems = append(problems, "phase "+string(p.Status.Phase))
		}
		if len(p.Status.ContainerStatuses) > 0 {
			problems = append(problems, "has container statuses")
		}
		return strings.Join(problems, "; ")
	}).WithTimeout(schedQuiet).WithPolling(100*time.Millisecond).Should(gomega.BeEmpty(), "a bound pod without a kubelet must stay bound and Pending")
}

func specSchedOwnPodsOnly(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "shared", "2", "4Gi")
	e.create(ctx, g, e.schedPod("theirs", "100m", "64Mi", scheduledBy(e.name+"-other")))
	e.create(ctx, g, e.schedPod("mine", "100m", "64Mi"))
	e.placedOn(ctx, g, "mine", node)
	e.stayPending(ctx, g, "another scheduler's pod", "theirs")
}

func specSchedCatchUp(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	e.node(ctx, g, "steady", "4", "8Gi")
	e.create(ctx, g, e.schedPod("before", "100m", "64Mi"))
	e.placed(ctx, g, "before")
	e.stopScheduler()
	names := make([]string, 5)
	for i := range names {
		names[i] = fmt.Sprintf("while-down-%d", i)
		e.create(ctx, g, e.schedPod(names[i], "100m", "64Mi"))
	}
	e.stayPending(ctx, g, "the scheduler is stopped", names...)
	ok(g, e.startScheduler(ctx), "restarting the scheduler")
	for _, n := range names {
		e.placed(ctx, g, n)
	}
}
