package conformance

import (
	"context"
	"fmt"
	"sort"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const (
	srcDaemonSets     = "Kubernetes: DaemonSet (kubernetes.io/docs/concepts/workloads/controllers/daemonset)"
	srcDaemonSetTaint = "Kubernetes: DaemonSet, taints and tolerations (kubernetes.io/docs/concepts/workloads/controllers/daemonset/#taints-and-tolerations)"
	srcDaemonSetSched = "Kubernetes: DaemonSet, how daemon pods are scheduled (kubernetes.io/docs/concepts/workloads/controllers/daemonset/#how-daemon-pods-are-scheduled)"
	srcDaemonSetRoll  = "Kubernetes: Perform a rolling update on a DaemonSet (kubernetes.io/docs/tasks/manage-daemon/update-daemon-set)"
	dsTaintKey        = "clusterkit.dev/dedicated"
	dsRoleLabel       = "clusterkit.dev/daemon-role"
)

func daemonSetSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.daemonset.one-per-node", "a DaemonSet MUST get exactly one running pod, controlled by it, on every schedulable node its template selects, each pinned to its node by a required node affinity term matchFields metadata.name In [node] rather than by spec.nodeName", srcDaemonSetSched), specDSOnePerNode},
		{ctrl("controllers.daemonset.untolerated-taint", "a DaemonSet MUST NOT keep a pod for a node with a NoExecute taint its pods do not tolerate, while running one on every other node", srcDaemonSetTaint), specDSUntoleratedTaint},
		{ctrl("controllers.daemonset.follows-node-labels", "a DaemonSet with a nodeSelector MUST add a pod when a node starts matching it and delete the pod of a node that stops matching it", srcDaemonSets), specDSFollowsLabels},
		{ctrl("controllers.daemonset.default-tolerations", "daemon pods MUST tolerate node.kubernetes.io/not-ready and unreachable (NoExecute, without tolerationSeconds), disk-pressure, memory-pressure, pid-pressure and unschedulable (NoSchedule), and network-unavailable (NoSchedule) when they use the host network", srcDaemonSetTaint), specDSDefaultTolerations},
		{ctrl("controllers.daemonset.rolling-update", "a DaemonSet RollingUpdate MUST never leave more than maxUnavailable of its nodes without an available pod at any observed moment, and MUST end with one pod of the new template on every node", srcDaemonSetRoll), specDSRollingUpdate},
		{ctrl("controllers.daemonset.surge", "a DaemonSet RollingUpdate with maxSurge 1 and maxUnavailable 0 MUST keep an available pod on every node at every observed moment, and MUST end with one pod of the new template on every node", srcDaemonSetRoll), specDSSurge},
		{ctrl("controllers.daemonset.on-delete", "with the OnDelete update strategy, a template change MUST NOT replace running daemon pods, and a deleted daemon pod MUST be replaced by one of the new template", srcDaemonSetRoll), specDSOnDelete},
		{ctrl("controllers.daemonset.status", "a DaemonSet's status MUST report observedGeneration, desiredNumberScheduled, currentNumberScheduled, numberReady, numberAvailable, updatedNumberScheduled, numberUnavailable, and in numberMisscheduled a pod kept on a node that gained an untolerated NoSchedule taint", srcDaemonSets), specDSStatus},
	}
}

// ctrlDaemonSet is a DaemonSet whose pods may run only on the spec's own nodes (the cluster
// may hold other nodes).
func (e *ctrlEnv) ctrlDaemonSet(name string) *appsv1.DaemonSet {
	t := ctrlTemplate(name, ctrlImage1)
	t.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: e.nodes}},
		}}},
	}}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: t,
		},
	}
}

func (e *ctrlEnv) createDaemonSet(ctx context.Context, g gomega.Gomega, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	out, err := e.client.AppsV1().DaemonSets(e.ns).Create(ctx, ds, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating DaemonSet %s", ds.Name)
	return out
}

// podNodePin returns the node a pod's required matchFields metadata.name In [node] term names
// (the value common to every term), or "".
func podNodePin(p *corev1.Pod) string {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	pin := ""
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if len(t.MatchFields) != 1 || t.MatchFields[0].Key != metav1.ObjectNameField ||
			t.MatchFields[0].Operator != corev1.NodeSelectorOpIn || len(t.MatchFields[0].Values) != 1 {
			return ""
		}
		v := t.MatchFields[0].Values[0]
		if pin != "" && pin != v {
			return ""
		}
		pin = v
	}
	return pin
}

// daemonNodes maps each node to the active pods of app meant for it (by spec.nodeName, else by
// node affinity pin).
func (e *ctrlEnv) daemonNodes(ctx context.Context, g gomega.Gomega, app string) map[string][]corev1.Pod {
	out := map[string][]corev1.Pod{}
	for _, p := range e.activePods(ctx, g, app) {
		n := p.Spec.NodeName
		if n == "" {
			n = podNodePin(&p)
		}
		out[n] = append(out[n], p)
	}
	return out
}

// waitDaemonPods waits until exactly the given nodes each have one ready pod of app, and no
// other node has one.
func (e *ctrlEnv) waitDaemonPods(ctx context.Context, g gomega.Gomega, app string, nodes ...string) map[string]corev1.Pod {
	var out map[string]corev1.Pod
	e.eventually(ctx, g, fmt.Sprintf("one ready pod of %s on each of %v", app, nodes), func(g gomega.Gomega) {
		byNode := e.daemonNodes(ctx, g, app)
		out = map[string]corev1.Pod{}
		var got []string
		for n, pods := range byNode {
			got = append(got, n)
			g.Expect(pods).To(gomega.HaveLen(1), "pods of node %q", n)
			g.Expect(readyCond(&pods[0])).To(gomega.BeTrue(), "pod %s is not ready", pods[0].Name)
			out[n] = pods[0]
		}
		sort.Strings(got)
		want := append([]string(nil), nodes...)
		sort.Strings(want)
		g.Expect(got).To(gomega.Equal(want), "the nodes with a pod of %s", app)
	})
	return out
}

func (e *ctrlEnv) updateNode(ctx context.Context, g gomega.Gomega, name string, edit func(n *corev1.Node)) {
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(n)
		_, err = e.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "updating node %s", name)
}

func (e *ctrlEnv) taintNode(ctx context.Context, g gomega.Gomega, name string, effect corev1.TaintEffect) {
	e.updateNode(ctx, g, name, func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: dsTaintKey, Value: "x", Effect: effect})
	})
	e.c.Cleanup(func() {
		_ = retry.RetryOnConflict(conflictBackoff(), func() error {
			bg := context.Background()
			n, err := e.client.CoreV1().Nodes().Get(bg, name, metav1.GetOptions{})
			if err != nil {
				return nil
			}
			var kept []corev1.Taint
			for _, t := range n.Spec.Taints {
				if t.Key != dsTaintKey {
					kept = append(kept, t)
				}
			}
			n.Spec.Taints = kept
			_, err = e.client.CoreV1().Nodes().Update(bg, n, metav1.UpdateOptions{})
			return err
		})
	})
}

func specDSOnePerNode(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	ds := e.createDaemonSet(ctx, g, e.ctrlDaemonSet("agent"))
	pods := e.waitDaemonPods(ctx, g, "agent", e.nodes...)
	for n, p := range pods {
		g.Expect(controlledBy(&p, ds.UID)).To(gomega.BeTrue(), "pod %s must be controlled by the DaemonSet", p.Name)
		g.Expect(podNodePin(&p)).To(gomega.Equal(n), "pod %s must be pinned to node %s by matchFields metadata.name in every required term", p.Name, n)
		g.Expect(p.Spec.NodeName).To(gomega.Equal(n))
	}
	consistently(ctx, g, "still one pod per node", func(g gomega.Gomega) {
		for n, pods := range e.daemonNodes(ctx, g, "agent") {
			g.Expect(pods).To(gomega.HaveLen(1), "pods of node %q", n)
		}
	})
}

func specDSUntoleratedTaint(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	// NoExecute rather than NoSchedule: a controller whose node cache lags the taint may create
	// a pod before it sees the taint; it must then delete it (a NoSchedule taint would let that
	// pod stay, pending).
	e.taintNode(ctx, g, e.nodes[0], corev1.TaintEffectNoExecute)
	e.createDaemonSet(ctx, g, e.ctrlDaemonSet("agent"))
	e.waitDaemonPods(ctx, g, "agent", e.nodes[1:]...)
	consistently(ctx, g, "no pod for the tainted node", func(g gomega.Gomega) {
		g.Expect(e.daemonNodes(ctx, g, "agent")).NotTo(gomega.HaveKey(e.nodes[0]))
	})
}

func specDSFollowsLabels(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	setRole := func(node string, on bool) {
		e.updateNode(ctx, g, node, func(n *corev1.Node) {
			if on {
				n.Labels[dsRoleLabel] = e.ns
			} else {
				delete(n.Labels, dsRoleLabel)
			}
		})
	}
	for _, n := range e.nodes {
		e.c.Cleanup(func() {
			_ = retry.RetryOnConflict(conflictBackoff(), func() error {
				bg := context.Background()
				node, err := e.client.CoreV1().Nodes().Get(bg, n, metav1.GetOptions{})
				if err != nil || node.Labels[dsRoleLabel] == "" {
					return nil
				}
				delete(node.Labels, dsRoleLabel)
				_, err = e.client.CoreV1().Nodes().Update(bg, node, metav1.UpdateOptions{})
				return err
			})
		})
	}
	setRole(e.nodes[0], true)
	ds := e.ctrlDaemonSet("agent")
	ds.Spec.Template.Spec.NodeSelector = map[string]string{dsRoleLabel: e.ns}
	e.createDaemonSet(ctx, g, ds)
	e.waitDaemonPods(ctx, g, "agent", e.nodes[0])
	setRole(e.nodes[1], true)
	e.waitDaemonPods(ctx, g, "agent", e.nodes[0], e.nodes[1])
	setRole(e.nodes[0], false)
	e.waitDaemonPods(ctx, g, "agent", e.nodes[1])
}

func specDSDefaultTolerations(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	ds := e.ctrlDaemonSet("agent")
	ds.Spec.Template.Spec.HostNetwork = true
	ds.Spec.Template.Spec.Containers[0].Ports = nil
	e.createDaemonSet(ctx, g, ds)
	pods := e.waitDaemonPods(ctx, g, "agent", e.nodes...)
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	want := []corev1.Toleration{
		exists(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule),
	}
	for _, p := range pods {
		for _, w := range want {
			g.Expect(p.Spec.Tolerations).To(gomega.ContainElement(w), "pod %s must tolerate %s:%s", p.Name, w.Key, w.Effect)
		}
	}
}

func specDSRollingUpdate(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.rollDaemonSet(ctx, g, nil, 1)
}

func specDSSurge(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.rollDaemonSet(ctx, g, &appsv1.RollingUpdateDaemonSet{
		MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1)),
	}, 0)
}

// rollDaemonSet changes the image of a rolled-out DaemonSet with the given rolling update
// parameters (nil: the defaults) and checks that no more than maxUnavailable nodes are ever
// without an available pod, and that every node ends on the new template.
func (e *ctrlEnv) rollDaemonSet(ctx context.Context, g gomega.Gomega, ru *appsv1.RollingUpdateDaemonSet, maxUnavailable int) {
	ds := e.ctrlDaemonSet("agent")
	if ru != nil {
		ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: ru}
	}
	ds = e.createDaemonSet(ctx, g, ds)
	e.waitDaemonPods(ctx, g, "agent", e.nodes...)
	ours := map[string]bool{}
	for _, n := range e.nodes {
		ours[n] = true
	}
	obs := e.observe(ctx, g, func(pods []*corev1.Pod, _ []*appsv1.ReplicaSet) string {
		available := map[string]bool{}
		for _, p := range pods {
			if isActive(p) && p.Labels["app"] == "agent" && readyCond(p) && ours[p.Spec.NodeName] {
				available[p.Spec.NodeName] = true
			}
		}
		if missing := len(e.nodes) - len(available); missing > maxUnavailable {
			return fmt.Sprintf("%d nodes without an available pod (maxUnavailable %d): available on %v", missing, maxUnavailable, available)
		}
		return ""
	})
	const image2 = "registry.example/web:2"
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cur, err := e.client.AppsV1().DaemonSets(e.ns).Get(ctx, ds.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Template.Spec.Containers[0].Image = image2
		_, err = e.client.AppsV1().DaemonSets(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "changing the image")
	e.eventually(ctx, g, "every node runs the new template", func(g gomega.Gomega) {
		pods := e.waitDaemonPods(ctx, g, "agent", e.nodes...)
		for _, p := range pods {
			g.Expect(p.Spec.Containers[0].Image).To(gomega.Equal(image2), "pod %s", p.Name)
		}
	})
	g.Expect(obs.done()).To(gomega.BeEmpty(), "maxUnavailable violated")
}

func specDSStatus(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	ds := e.createDaemonSet(ctx, g, e.ctrlDaemonSet("agent"))
	e.waitDaemonPods(ctx, g, "agent", e.nodes...)
	check := func(desired, misscheduled int32) {
		e.eventually(ctx, g, fmt.Sprintf("status of %d desired, %d misscheduled", desired, misscheduled), func(g gomega.Gomega) {
			cur, err := e.client.AppsV1().DaemonSets(e.ns).Get(ctx, ds.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
			st := cur.Status
			g.Expect(st.ObservedGeneration).To(gomega.Equal(cur.Generation), "observedGeneration")
			g.Expect(st.DesiredNumberScheduled).To(gomega.Equal(desired), "desiredNumberScheduled")
			g.Expect(st.CurrentNumberScheduled).To(gomega.Equal(desired), "currentNumberScheduled")
			g.Expect(st.NumberReady).To(gomega.Equal(desired), "numberReady")
			g.Expect(st.NumberAvailable).To(gomega.Equal(desired), "numberAvailable")
			g.Expect(st.UpdatedNumberScheduled).To(gomega.Equal(desired), "updatedNumberScheduled")
			g.Expect(st.NumberUnavailable).To(gomega.Equal(int32(0)), "numberUnavailable")
			g.Expect(st.NumberMisscheduled).To(gomega.Equal(misscheduled), "numberMisscheduled")
		})
	}
	check(int32(len(e.nodes)), 0)
	e.taintNode(ctx, g, e.nodes[0], corev1.TaintEffectNoSchedule)
	// kube-controller-manager recomputes a DaemonSet's status on a node update only when a
	// daemon pod must be created or deleted there, or when the status already counts
	// misscheduled pods (pkg/controller/daemon syncNodeUpdate; kubernetes/kubernetes#132459):
	// a pod kept on a newly NoSchedule-tainted node shows in the status from the DaemonSet's
	// next sync, which any change of the DaemonSet brings. Annotate it, as a user would.
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cur, err := e.client.AppsV1().DaemonSets(e.ns).Get(ctx, ds.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		metav1.SetMetaDataAnnotation(&cur.ObjectMeta, "clusterkit.dev/touched", "after-taint")
		_, err = e.client.AppsV1().DaemonSets(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "annotating the DaemonSet")
	check(int32(len(e.nodes)-1), 1)
	g.Expect(e.daemonNodes(ctx, g, "agent")).To(gomega.HaveKey(e.nodes[0]), "the pod of the NoSchedule-tainted node is kept")
}

func specDSOnDelete(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	ds := e.ctrlDaemonSet("agent")
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	ds = e.createDaemonSet(ctx, g, ds)
	before := e.waitDaemonPods(ctx, g, "agent", e.nodes...)
	const image2 = "registry.example/web:2"
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cur, err := e.client.AppsV1().DaemonSets(e.ns).Get(ctx, ds.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Template.Spec.Containers[0].Image = image2
		_, err = e.client.AppsV1().DaemonSets(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "changing the image")
	e.eventually(ctx, g, "the new generation observed", func(g gomega.Gomega) {
		cur, err := e.client.AppsV1().DaemonSets(e.ns).Get(ctx, ds.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(cur.Status.ObservedGeneration).To(gomega.Equal(cur.Generation))
	})
	unchanged := func(g gomega.Gomega, nodes []string) {
		now := e.daemonNodes(ctx, g, "agent")
		for _, n := range nodes {
			g.Expect(now[n]).To(gomega.HaveLen(1), "pods of node %s", n)
			g.Expect(now[n][0].UID).To(gomega.Equal(before[n].UID), "the pod of node %s was replaced", n)
		}
	}
	consistently(ctx, g, "no pod replaced", func(g gomega.Gomega) { unchanged(g, e.nodes) })
	victim := before[e.nodes[0]]
	g.Expect(e.client.CoreV1().Pods(e.ns).Delete(ctx, victim.Name, metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "the deleted pod replaced on the new template", func(g gomega.Gomega) {
		pods := e.waitDaemonPods(ctx, g, "agent", e.nodes...)
		g.Expect(pods[e.nodes[0]].UID).NotTo(gomega.Equal(victim.UID))
		g.Expect(pods[e.nodes[0]].Spec.Containers[0].Image).To(gomega.Equal(image2))
	})
	unchanged(g, e.nodes[1:])
}
