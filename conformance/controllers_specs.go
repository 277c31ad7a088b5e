package conformance

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/dump"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Sources of the controller behaviours.
const (
	srcSeedLoop           = "seed: \"Each of these loops runs the same basic cycle: read current state from the API server, compare it to desired state, and take the smallest action needed to close the gap.\""
	srcSeedDeployment     = "seed: \"The Deployment controller watches Deployment objects and creates ReplicaSets.\""
	srcSeedReplicaSet     = "seed: \"The ReplicaSet controller watches ReplicaSets and creates or deletes Pods to keep the actual count matching the desired count.\""
	srcSeedNode           = "seed: \"The Node controller monitors nodes and reacts when they go offline.\""
	srcSeedCatchUp        = "seed: \"If any component is temporarily unavailable, the others continue working and catch up when it returns.\""
	srcDeployments        = "Kubernetes: Deployments (kubernetes.io/docs/concepts/workloads/controllers/deployment)"
	srcReplicaSets        = "Kubernetes: ReplicaSet (kubernetes.io/docs/concepts/workloads/controllers/replicaset)"
	srcTaintEviction      = "Kubernetes: Taints and Tolerations, taint based evictions (kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration)"
	srcNodeStatus         = "Kubernetes: Node status and heartbeats (kubernetes.io/docs/reference/node/node-status)"
	srcEndpointSlices     = "Kubernetes: EndpointSlices (kubernetes.io/docs/concepts/services-networking/endpoint-slices)"
	srcGarbageCollect     = "Kubernetes: Garbage collection, cascading deletion (kubernetes.io/docs/concepts/architecture/garbage-collection)"
	srcNamespaces         = "Kubernetes: Namespaces, deleting a namespace deletes everything in it"
	srcEndpointSliceNodes = "Kubernetes: the EndpointSlice controller's reconciler (k8s.io/endpointslice reconciler.go: a pod whose Node is not found is skipped and the Service retried, unless it publishes not-ready addresses)"
	srcRolloutStatus      = "kubectl rollout status (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go)"
	ctrlImage1            = "registry.example/web:1"
	ctrlEventualLimit     = 60 * time.Second
	ctrlPoll              = 50 * time.Millisecond
	ctrlQuiet             = time.Second
	ctrlTemplateHashLb    = appsv1.DefaultDeploymentUniqueLabelKey
)

func ctrl(id, must, source string, needs ...Capability) Behavior {
	return Behavior{ID: id, Component: "controllers", Must: must, Source: source, Needs: needs}
}

func controllerSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.deployment.creates-replicaset", "a Deployment MUST get one ReplicaSet it controls, named <deployment>-<pod-template-hash> with the hash Kubernetes computes, whose pods carry the hash label and are controlled by it", srcSeedDeployment), specCtrlCreatesReplicaSet},
		{ctrl("controllers.deployment.rollout-status", "a rolled-out Deployment MUST report observedGeneration, replicas, updatedReplicas, readyReplicas and availableReplicas equal to spec.replicas, Available=True and Progressing=True with reason NewReplicaSetAvailable, as kubectl rollout status reads them", srcRolloutStatus), specCtrlRolloutStatus},
		{ctrl("controllers.deployment.scale", "scaling a Deployment through its scale subresource MUST converge, up and down, to exactly the new count of ready pods", srcDeployments), specCtrlDeploymentScale},
		{ctrl("controllers.deployment.rolling-update-bounds", "a RollingUpdate MUST never have more than replicas+maxSurge pods planned (sum of its ReplicaSets' replicas) nor fewer than replicas-maxUnavailable ready pods at any observed moment, and MUST end with every pod on the new template", srcDeployments), specCtrlRollingBounds},
		{ctrl("controllers.deployment.recreate", "a Recreate rollout MUST NOT start any pod of the new template while a pod of the old template is still active", srcDeployments), specCtrlRecreate},
		{ctrl("controllers.deployment.rollback", "restoring an earlier template (kubectl rollout undo) MUST reuse that revision's ReplicaSet, give it the next revision number and create no new ReplicaSet", srcDeployments), specCtrlRollback},
		{ctrl("controllers.deployment.history-limit", "old ReplicaSets scaled to zero beyond revisionHistoryLimit MUST be deleted, oldest revisions first", srcDeployments), specCtrlHistoryLimit},
		{ctrl("controllers.deployment.progress-deadline", "a rollout that makes no progress for progressDeadlineSeconds MUST get Progressing=False with reason ProgressDeadlineExceeded, with the RollingUpdate and the Recreate strategy alike", srcDeployments, VirtualTime, SimulatedNodes), specCtrlProgressDeadline},
		{ctrl("controllers.deployment.concurrent-edits", "a Deployment edited concurrently by several users (retrying on conflict) MUST converge to the last accepted spec", srcSeedLoop), specCtrlConcurrentEdits},
		{ctrl("controllers.replicaset.scale-exact", "a ReplicaSet MUST converge to exactly spec.replicas active pods when created, scaled up and scaled down, and MUST never have more active pods than the largest count asked for, even while its pods are unscheduled", srcSeedReplicaSet), specCtrlScaleExact},
		{ctrl("controllers.replicaset.status", "a ReplicaSet's status MUST report observedGeneration and the replicas, ready and available counts of its pods", srcReplicaSets), specCtrlReplicaSetStatus},
		{ctrl("controllers.replicaset.replaces-deleted-pod", "a deleted pod of a ReplicaSet MUST be replaced so the count is restored", srcSeedReplicaSet), specCtrlReplacesDeleted},
		{ctrl("controllers.replicaset.adopts-orphans", "a ReplicaSet MUST adopt existing orphan pods its selector matches (controller ownerReference) and create only the missing ones", srcReplicaSets), specCtrlAdopts},
		{ctrl("controllers.replicaset.releases-nonmatching", "a pod relabelled out of its ReplicaSet's selector MUST be released (its controller reference removed) and replaced", srcReplicaSets), specCtrlReleases},
		{ctrl("controllers.replicaset.deletes-unscheduled-first", "scaling a ReplicaSet down MUST delete unscheduled pods before running ones", srcReplicaSets, SimulatedNodes), specCtrlDeletesUnscheduledFirst},
		{ctrl("controllers.nodelifecycle.unreachable", "a node whose Lease stops being renewed for the grace period MUST get Ready=Unknown and the node.kubernetes.io/unreachable NoSchedule and NoExecute taints, while nodes that keep renewing stay Ready", srcSeedNode, VirtualTime), specCtrlNodeUnreachable},
		{ctrl("controllers.nodelifecycle.eviction", "pods on an unreachable node MUST be evicted after their toleration period (300 s by default) and not before, a pod tolerating the taint forever MUST stay, and the ReplicaSet MUST replace evicted pods on other nodes", srcTaintEviction, VirtualTime), specCtrlNodeEviction},
		{ctrl("controllers.nodelifecycle.recovery", "when a node's heartbeats return and it reports Ready, its unreachable taints MUST be removed", srcNodeStatus, VirtualTime), specCtrlNodeRecovery},
		{ctrl("controllers.endpointslice.tracks-pods", "an EndpointSlice of a Service with a selector MUST list the addresses of its pods with their readiness and the resolved target port, and follow pods as they are replaced", srcEndpointSlices), specCtrlEndpointSlices},
		{ctrl("controllers.endpointslice.recreates-deleted", "when one of a Service's EndpointSlices is deleted, the controller MUST create a slice with its endpoints again and MUST leave the Service's other slices, whose ports are still wanted, untouched (same UID, same generation)", srcEndpointSlices), specCtrlEndpointSliceRecreated},
		{ctrl("controllers.endpointslice.missing-node", "a ready pod bound to a Node that does not exist MUST be left out of its Service's EndpointSlices until that Node exists, and MUST be listed all along for a Service that publishes not-ready addresses", srcEndpointSliceNodes), specCtrlEndpointSliceMissingNode},
		{ctrl("controllers.gc.background", "deleting a Deployment with background propagation (as kubectl does) MUST delete its ReplicaSets and their pods", srcGarbageCollect), specCtrlGCBackground},
		{ctrl("controllers.gc.default-cascades", "deleting a ReplicaSet without a propagation policy MUST delete its pods (apps/v1 does not orphan by default)", srcGarbageCollect), specCtrlGCDefault},
		{ctrl("controllers.gc.orphan", "deleting a ReplicaSet with propagationPolicy=Orphan MUST delete only the ReplicaSet and leave its pods without a controller reference", srcGarbageCollect), specCtrlGCOrphan},
		{ctrl("controllers.gc.dependency-cycle", "deleting in the foreground one member of a cycle of objects that own each other with blockOwnerDeletion MUST delete every member: the cycle MUST NOT block the collector", srcGarbageCollect), specCtrlGCCycle},
		{ctrl("controllers.gc.foreground-shared-dependent", "deleting an owner in the foreground MUST NOT delete a dependent that has another owner which is not being deleted: the dependent MUST lose only its reference to the deleted owner, and the owner MUST then disappear", srcGarbageCollect), specCtrlGCSharedDependent},
		{ctrl("controllers.gc.foreground", "deleting a ReplicaSet with propagationPolicy=Foreground MUST delete its pods before the ReplicaSet disappears", srcGarbageCollect), specCtrlGCForeground},
		{ctrl("controllers.namespace.pods-first", "deleting a namespace MUST delete its pods first and keep its other objects until every pod is gone, and MUST report its progress in the namespace's deletion conditions (NamespaceContentRemaining, NamespaceFinalizersRemaining, NamespaceDeletionContentFailure)", srcNamespaces), specCtrlNamespacePodsFirst},
		{ctrl("controllers.namespace.delete", "deleting a namespace MUST delete everything in it and then the namespace", srcNamespaces), specCtrlNamespaceDelete},
		{ctrl("controllers.manager.catch-up", "while the controller manager is stopped nothing MUST change, and once restarted it MUST converge from the API's state alone", srcSeedCatchUp, ControllerRestart), specCtrlCatchUp},
	}
}

// --- fixtures ---------------------------------------------------------------

func ctrlTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
	}
}

func ctrlDeployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: ctrlTemplate(name, ctrlImage1),
		},
	}
}

func ctrlReplicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: ctrlTemplate(name, ctrlImage1),
		},
	}
}

func (e *ctrlEnv) createDeployment(ctx context.Context, g gomega.Gomega, d *appsv1.Deployment) *appsv1.Deployment {
	out, err := e.client.AppsV1().Deployments(e.ns).Create(ctx, d, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating Deployment %s", d.Name)
	return out
}

func (e *ctrlEnv) createReplicaSet(ctx context.Context, g gomega.Gomega, rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	out, err := e.client.AppsV1().ReplicaSets(e.ns).Create(ctx, rs, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating ReplicaSet %s", rs.Name)
	return out
}

// podNames names pods in failure messages (whole pods are unreadable).
func podNames(pods []corev1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.Name+"@"+p.Spec.NodeName)
	}
	return out
}

func isActive(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// activePods lists the active pods with label app=app.
func (e *ctrlEnv) activePods(ctx context.Context, g gomega.Gomega, app string) []corev1.Pod {
	list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	g.ExpectWithOffset(2, err).NotTo(gomega.HaveOccurred(), "listing pods")
	var out []corev1.Pod
	for _, p := range list.Items {
		if isActive(&p) {
			out = append(out, p)
		}
	}
	return out
}

// eventually polls check until it passes or the harness's patience runs out.
func (e *ctrlEnv) eventually(ctx context.Context, g gomega.Gomega, what string, check func(g gomega.Gomega)) {
	g.Eventually(ctx, check).WithTimeout(e.patience()).WithPolling(ctrlPoll).Should(gomega.Succeed(), what)
}

// consistently checks that check keeps passing for a while.
func consistently(ctx context.Context, g gomega.Gomega, what string, check func(g gomega.Gomega)) {
	g.Consistently(ctx, check).WithTimeout(ctrlQuiet).WithPolling(ctrlPoll).Should(gomega.Succeed(), what)
}

// waitReadyPods waits until exactly n active pods of app are ready.
func (e *ctrlEnv) waitReadyPods(ctx context.Context, g gomega.Gomega, app string, n int) []corev1.Pod {
	var pods []corev1.Pod
	e.eventually(ctx, g, fmt.Sprintf("exactly %d ready pods of %s", n, app), func(g gomega.Gomega) {
		pods = e.activePods(ctx, g, app)
		g.Expect(podNames(pods)).To(gomega.HaveLen(n))
		for _, p := range pods {
			g.Expect(readyCond(&p)).To(gomega.BeTrue(), "pod %s is not ready", p.Name)
		}
	})
	return pods
}

// waitRolledOut waits until d is rolled out as kubectl rollout status sees it.
func (e *ctrlEnv) waitRolledOut(ctx context.Context, g gomega.Gomega, name string) *appsv1.Deployment {
	var d *appsv1.Deployment
	e.eventually(ctx, g, "Deployment "+name+" rolled out", func(g gomega.Gomega) {
		var err error
		d, err = e.client.AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		want := ptr.Deref(d.Spec.Replicas, 1)
		g.Expect(d.Status.ObservedGeneration).To(gomega.BeNumerically(">=", d.Generation), "observedGeneration")
		g.Expect(d.Status.UpdatedReplicas).To(gomega.Equal(want), "updatedReplicas")
		g.Expect(d.Status.Replicas).To(gomega.Equal(want), "replicas (old replicas pending termination)")
		g.Expect(d.Status.AvailableReplicas).To(gomega.Equal(want), "availableReplicas")
	})
	return d
}

func controlledBy(m metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOfNoCopy(m)
	return ref != nil && ref.UID == uid
}

// replicaSetsOf lists the ReplicaSets d controls.
func (e *ctrlEnv) replicaSetsOf(ctx context.Context, g gomega.Gomega, d *appsv1.Deployment) []appsv1.ReplicaSet {
	list, err := e.client.AppsV1().ReplicaSets(e.ns).List(ctx, metav1.ListOptions{})
	g.ExpectWithOffset(2, err).NotTo(gomega.HaveOccurred(), "listing ReplicaSets")
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOfNoCopy(&rs); ref != nil && ref.UID == d.UID {
			out = append(out, rs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// k8sPodTemplateHash is the pod-template-hash Kubernetes computes for a
// template: FNV-32a of the template dumped for hashing (then of the collision
// count), printed in decimal and safe-encoded (pkg/controller ComputeHash).
func k8sPodTemplateHash(t *corev1.PodTemplateSpec, collisions *int32) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(*t))
	if collisions != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisions))
		h.Write(b)
	}
	return utilrand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// setReplicaSetReplicas sets the ReplicaSet's spec.replicas to n, retrying on conflicts.
func (e *ctrlEnv) setReplicaSetReplicas(ctx context.Context, g gomega.Gomega, name string, n int32) {
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cur, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Replicas = ptr.To(n)
		_, err = e.client.AppsV1().ReplicaSets(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "scaling ReplicaSet %s to %d", name, n)
}

func (e *ctrlEnv) setImage(ctx context.Context, g gomega.Gomega, name, image string) {
	err := e.editDeployment(ctx, name, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image })
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "changing the image of %s", name)
}

// editDeployment applies edit to the latest Deployment name and writes it, retrying on conflicts.
func (e *ctrlEnv) editDeployment(ctx context.Context, name string, edit func(*appsv1.Deployment)) error {
	return retry.RetryOnConflict(conflictBackoff(), func() error {
		d, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(d)
		_, err = e.client.AppsV1().Deployments(e.ns).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
}

// observer records violations of an invariant checked on every event of
// an informer over the spec's namespace.
type observer struct {
	mu         sync.Mutex
	violations []string
	stop       func()
}

func (o *observer) record(v string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.violations) < 5 {
		o.violations = append(o.violations, v)
	}
}

func (o *observer) done() []string {
	o.stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.violations
}

// observe runs check over the whole cached state of the namespace after
// every pod and ReplicaSet event.
func (e *ctrlEnv) observe(ctx context.Context, g gomega.Gomega, check func(pods []*corev1.Pod, rss []*appsv1.ReplicaSet) string) *observer {
	f := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithNamespace(e.ns))
	podInf, rsInf := f.Core().V1().Pods().Informer(), f.Apps().V1().ReplicaSets().Informer()
	o := &observer{}
	var mu sync.Mutex
	armed := false // the stores fill one object at a time while syncing
	evaluate := func(any) {
		mu.Lock()
		defer mu.Unlock()
		if !armed {
			return
		}
		var pods []*corev1.Pod
		for _, x := range podInf.GetStore().List() {
			pods = append(pods, x.(*corev1.Pod))
		}
		var rss []*appsv1.ReplicaSet
		for _, x := range rsInf.GetStore().List() {
			rss = append(rss, x.(*appsv1.ReplicaSet))
		}
		if v := check(pods, rss); v != "" {
			o.record(v)
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: evaluate, UpdateFunc: func(_, n any) { evaluate(n) }, DeleteFunc: evaluate}
	_, err1 := podInf.AddEventHandler(h)
	_, err2 := rsInf.AddEventHandler(h)
	g.Expect(err1).NotTo(gomega.HaveOccurred())
	g.Expect(err2).NotTo(gomega.HaveOccurred())
	stop := make(chan struct{})
	f.Start(stop)
	g.Expect(cache.WaitForCacheSync(ctx.Done(), podInf.HasSynced, rsInf.HasSynced)).To(gomega.BeTrue(), "observer informers synced")
	mu.Lock()
	armed = true
	mu.Unlock()
	evaluate(nil)
	var once sync.Once
	o.stop = func() {
		once.Do(func() {
			close(stop)
			f.Shutdown()
		})
	}
	e.c.Cleanup(o.stop)
	return o
}

// advance steps the manager's clock by d in 5 s steps, renewing the Leases
// of live nodes before each step, paced so the controllers observe the
// renewals as a kubelet's periodic heartbeats.
func (e *ctrlEnv) advance(ctx context.Context, g gomega.Gomega, d time.Duration) {
	const step = 5 * time.Second
	for left := d; left > 0; left -= step {
		if e.driver != nil {
			g.ExpectWithOffset(1, e.driver.renewAll(ctx)).To(gomega.Succeed(), "renewing node leases")
		}
		e.cut.Advance(min(step, left))
		select {
		case <-ctx.Done():
			return
		case <-time.After(40 * time.Millisecond):
		}
	}
	if e.driver != nil {
		g.ExpectWithOffset(1, e.driver.renewAll(ctx)).To(gomega.Succeed(), "renewing node leases")
	}
}

func (e *ctrlEnv) holdBinding(g gomega.Gomega, hold bool) bool {
	if e.driver == nil {
		return false
	}
	e.driver.setHoldBinding(hold)
	return true
}

// --- Deployment -------------------------------------------------------------

func specCtrlCreatesReplicaSet(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	d := e.createDeployment(ctx, g, ctrlDeployment("web", 3))
	pods := e.waitReadyPods(ctx, g, "web", 3)
	var rss []appsv1.ReplicaSet
	e.eventually(ctx, g, "one ReplicaSet controlled by the Deployment", func(g gomega.Gomega) {
		rss = e.replicaSetsOf(ctx, g, d)
		g.Expect(rss).To(gomega.HaveLen(1))
	})
	rs := rss[0]
	hash := rs.Labels[ctrlTemplateHashLb]
	g.Expect(hash).To(gomega.Equal(k8sPodTemplateHash(&d.Spec.Template, d.Status.CollisionCount)),
		"the pod-template-hash must be the one Kubernetes computes for the stored template")
	g.Expect(rs.Name).To(gomega.Equal(d.Name+"-"+hash), "ReplicaSet name")
	g.Expect(rs.Spec.Selector.MatchLabels).To(gomega.HaveKeyWithValue(ctrlTemplateHashLb, hash), "ReplicaSet selector")
	g.Expect(rs.Annotations).To(gomega.HaveKeyWithValue("deployment.kubernetes.io/revision", "1"))
	for _, p := range pods {
		g.Expect(p.Labels).To(gomega.HaveKeyWithValue(ctrlTemplateHashLb, hash), "pod %s", p.Name)
		g.Expect(controlledBy(&p, rs.UID)).To(gomega.BeTrue(), "pod %s must be controlled by ReplicaSet %s", p.Name, rs.Name)
	}
}

func specCtrlRolloutStatus(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createDeployment(ctx, g, ctrlDeployment("web", 2))
	d := e.waitRolledOut(ctx, g, "web")
	e.eventually(ctx, g, "conditions", func(g gomega.Gomega) {
		var err error
		d, err = e.client.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(d.Status.ReadyReplicas).To(gomega.Equal(int32(2)), "readyReplicas")
		conds := map[appsv1.DeploymentConditionType]appsv1.DeploymentCondition{}
		for _, c := range d.Status.Conditions {
			conds[c.Type] = c
		}
		g.Expect(conds).To(gomega.HaveKey(appsv1.DeploymentAvailable))
		g.Expect(conds[appsv1.DeploymentAvailable].Status).To(gomega.Equal(corev1.ConditionTrue))
		g.Expect(conds).To(gomega.HaveKey(appsv1.DeploymentProgressing))
		g.Expect(conds[appsv1.DeploymentProgressing].Status).To(gomega.Equal(corev1.ConditionTrue))
		g.Expect(conds[appsv1.DeploymentProgressing].Reason).To(gomega.Equal("NewReplicaSetAvailable"))
	})
	// A new generation is reported only once observed.
	e.setImage(ctx, g, "web", "registry.example/web:2")
	e.waitRolledOut(ctx, g, "web")
}

func specCtrlDeploymentScale(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createDeployment(ctx, g, ctrlDeployment("web", 2))
	e.waitRolledOut(ctx, g, "web")
	for _, n := range []int32{5, 1} {
		sc, err := e.client.AppsV1().Deployments(e.ns).GetScale(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		sc.Spec.Replicas = n
		_, err = e.client.AppsV1().Deployments(e.ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "scaling to %d", n)
		e.waitReadyPods(ctx, g, "web", int(n))
		e.waitRolledOut(ctx, g, "web")
		consistently(ctx, g, fmt.Sprintf("stays at %d pods", n), func(g gomega.Gomega) {
			g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(int(n)))
		})
	}
}

func specCtrlRollingBounds(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const replicas, surge, unavailable = 6, 1, 1
	d := ctrlDeployment("web", replicas)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxSurge: ptr.To(intstr.FromInt32(surge)), MaxUnavailable: ptr.To(intstr.FromInt32(unavailable))}}
	d = e.createDeployment(ctx, g, d)
	e.waitRolledOut(ctx, g, "web")
	e.waitReadyPods(ctx, g, "web", replicas)
	o := e.observe(ctx, g, func(pods []*corev1.Pod, rss []*appsv1.ReplicaSet) string {
		var planned int32
		for _, rs := range rss {
			if controlledBy(rs, d.UID) {
				planned += ptr.Deref(rs.Spec.Replicas, 1)
			}
		}
		if planned > replicas+surge {
			return fmt.Sprintf("the ReplicaSets planned %d pods, more than replicas+maxSurge=%d", planned, replicas+surge)
		}
		ready := 0
		for _, p := range pods {
			if isActive(p) && readyCond(p) && p.Labels["app"] == "web" {
				ready++
			}
		}
		if ready < replicas-unavailable {
			return fmt.Sprintf("only %d pods were ready, fewer than replicas-maxUnavailable=%d", ready, replicas-unavailable)
		}
		return ""
	})
	e.setImage(ctx, g, "web", "registry.example/web:2")
	e.waitRolledOut(ctx, g, "web")
	e.eventually(ctx, g, "every pod on the new template", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(replicas))
		for _, p := range pods {
			g.Expect(p.Spec.Containers[0].Image).To(gomega.Equal("registry.example/web:2"))
		}
	})
	g.Expect(o.done()).To(gomega.BeEmpty(), "bounds of the rolling update")
}

func specCtrlRecreate(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	d := ctrlDeployment("web", 3)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	e.createDeployment(ctx, g, d)
	e.waitRolledOut(ctx, g, "web")
	o := e.observe(ctx, g, func(pods []*corev1.Pod, _ []*appsv1.ReplicaSet) string {
		images := map[string]int{}
		for _, p := range pods {
			if isActive(p) && p.Labels["app"] == "web" {
				images[p.Spec.Containers[0].Image]++
			}
		}
		if len(images) > 1 {
			return fmt.Sprintf("pods of two templates were active at once: %v", images)
		}
		return ""
	})
	e.setImage(ctx, g, "web", "registry.example/web:2")
	e.waitRolledOut(ctx, g, "web")
	e.eventually(ctx, g, "every pod on the new template", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(3))
		for _, p := range pods {
			g.Expect(p.Spec.Containers[0].Image).To(gomega.Equal("registry.example/web:2"))
		}
	})
	g.Expect(o.done()).To(gomega.BeEmpty(), "Recreate must not overlap templates")
}

func specCtrlRollback(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	d := e.createDeployment(ctx, g, ctrlDeployment("web", 2))
	e.waitRolledOut(ctx, g, "web")
	e.setImage(ctx, g, "web", "registry.example/web:2")
	e.waitRolledOut(ctx, g, "web")
	var rev1 appsv1.ReplicaSet
	e.eventually(ctx, g, "two revisions", func(g gomega.Gomega) {
		rss := e.replicaSetsOf(ctx, g, d)
		g.Expect(rss).To(gomega.HaveLen(2))
		revs := map[string]appsv1.ReplicaSet{}
		for _, rs := range rss {
			revs[rs.Annotations["deployment.kubernetes.io/revision"]] = rs
		}
		g.Expect(revs).To(gomega.HaveKey("1"))
		g.Expect(revs).To(gomega.HaveKey("2"))
		rev1 = revs["1"]
	})
	// What kubectl rollout undo does: copy revision 1's template, without
	// the hash label, into the Deployment.
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cur, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		t := rev1.Spec.Template.DeepCopy()
		delete(t.Labels, ctrlTemplateHashLb)
		cur.Spec.Template = *t
		_, err = e.client.AppsV1().Deployments(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "rolling back")
	e.waitRolledOut(ctx, g, "web")
	e.eventually(ctx, g, "revision 1's ReplicaSet is now revision 3 and runs the pods", func(g gomega.Gomega) {
		rss := e.replicaSetsOf(ctx, g, d)
		g.Expect(rss).To(gomega.HaveLen(2), "no new ReplicaSet")
		for _, rs := range rss {
			if rs.UID == rev1.UID {
				g.Expect(rs.Annotations).To(gomega.HaveKeyWithValue("deployment.kubernetes.io/revision", "3"))
				g.Expect(ptr.Deref(rs.Spec.Replicas, 1)).To(gomega.Equal(int32(2)))
			} else {
				g.Expect(ptr.Deref(rs.Spec.Replicas, 1)).To(gomega.Equal(int32(0)))
			}
		}
		for _, p := range e.activePods(ctx, g, "web") {
			g.Expect(p.Spec.Containers[0].Image).To(gomega.Equal(ctrlImage1))
		}
	})
}

func specCtrlHistoryLimit(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	d := ctrlDeployment("web", 1)
	d.Spec.RevisionHistoryLimit = ptr.To(int32(1))
	d = e.createDeployment(ctx, g, d)
	e.waitRolledOut(ctx, g, "web")
	for i := 2; i <= 4; i++ {
		e.setImage(ctx, g, "web", "registry.example/web:"+strconv.Itoa(i))
		e.waitRolledOut(ctx, g, "web")
	}
	e.eventually(ctx, g, "one old ReplicaSet kept", func(g gomega.Gomega) {
		rss := e.replicaSetsOf(ctx, g, d)
		g.Expect(rss).To(gomega.HaveLen(2))
		var revs []string
		for _, rs := range rss {
			revs = append(revs, rs.Annotations["deployment.kubernetes.io/revision"])
		}
		sort.Strings(revs)
		g.Expect(revs).To(gomega.Equal([]string{"3", "4"}), "the newest old revision is kept")
	})
}

func specCtrlProgressDeadline(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	if !e.holdBinding(g, true) {
		return
	}
	defer e.holdBinding(g, false)
	names := []string{"web", "recreate"}
	for _, name := range names {
		d := ctrlDeployment(name, 2)
		d.Spec.ProgressDeadlineSeconds = ptr.To(int32(30))
		if name == "recreate" {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		}
		e.createDeployment(ctx, g, d)
	}
	for _, name := range names {
		e.eventually(ctx, g, "Progressing=True while the rollout of "+name+" starts", func(g gomega.Gomega) {
			got, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
			g.Expect(got.Status.Conditions).To(gomega.ContainElement(gomega.And(
				gomega.HaveField("Type", appsv1.DeploymentProgressing), gomega.HaveField("Status", corev1.ConditionTrue))))
			g.Expect(podNames(e.activePods(ctx, g, name))).To(gomega.HaveLen(2))
			// The deadline counts from the last progress the controller saw:
			// let it see both pods before time moves, or a status that catches
			// up during the advance is (rightly) progress that renews it.
			g.Expect(got.Status.ObservedGeneration).To(gomega.Equal(got.Generation))
			g.Expect(got.Status.Replicas).To(gomega.BeEquivalentTo(2))
			g.Expect(got.Status.UpdatedReplicas).To(gomega.BeEquivalentTo(2))
		})
	}
	e.advance(ctx, g, 45*time.Second)
	for _, name := range names {
		e.eventually(ctx, g, "Progressing=False ProgressDeadlineExceeded for "+name, func(g gomega.Gomega) {
			got, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
			g.Expect(got.Status.Conditions).To(gomega.ContainElement(gomega.And(
				gomega.HaveField("Type", appsv1.DeploymentProgressing), gomega.HaveField("Status", corev1.ConditionFalse),
				gomega.HaveField("Reason", "ProgressDeadlineExceeded"))), "Deployment %s (strategy %s)", name, got.Spec.Strategy.Type)
		})
	}
}

func specCtrlConcurrentEdits(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createDeployment(ctx, g, ctrlDeployment("web", 2))
	e.waitRolledOut(ctx, g, "web")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				errs[w] = retry.RetryOnConflict(conflictBackoff(), func() error {
					d, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
					if err != nil {
						return err
					}
					d.Spec.Replicas = ptr.To(int32(1 + (w+i)%4))
					if d.Labels == nil {
						d.Labels = map[string]string{}
					}
					d.Labels[fmt.Sprintf("editor-%d", w)] = strconv.Itoa(i)
					_, err = e.client.AppsV1().Deployments(e.ns).Update(ctx, d, metav1.UpdateOptions{})
					return err
				})
				if errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		g.Expect(err).NotTo(gomega.HaveOccurred(), "a concurrent edit")
	}
	d := e.waitRolledOut(ctx, g, "web")
	for w := range 4 {
		g.Expect(d.Labels).To(gomega.HaveKeyWithValue(fmt.Sprintf("editor-%d", w), "4"), "every editor's last edit")
	}
	e.waitReadyPods(ctx, g, "web", int(ptr.Deref(d.Spec.Replicas, 1)))
}

// --- ReplicaSet ---------------------------------------------------------------

func specCtrlScaleExact(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	var mu sync.Mutex
	// bound is the most active pods allowed. Raised before a scale-up; a
	// lower bound after a scale-down waits in lower until the observer's own
	// cache has seen the count come down (its watch can lag behind the API
	// the spec waits on, and still show the pods being deleted).
	bound, lower := 5, 0
	o := e.observe(ctx, g, func(pods []*corev1.Pod, _ []*appsv1.ReplicaSet) string {
		n := 0
		for _, p := range pods {
			if isActive(p) && p.Labels["app"] == "web" {
				n++
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if lower > 0 && n <= lower {
			bound, lower = lower, 0
		}
		if n > bound {
			return fmt.Sprintf("%d active pods, more than the %d asked for", n, bound)
		}
		return ""
	})
	held := e.holdBinding(g, true)
	rs := e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 5))
	if held {
		// Unscheduled pods are pods: the count must hold while none runs.
		e.eventually(ctx, g, "5 pending pods", func(g gomega.Gomega) {
			g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(5))
		})
		consistently(ctx, g, "still exactly 5 pods while unscheduled", func(g gomega.Gomega) {
			g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(5))
		})
		e.holdBinding(g, false)
	}
	e.waitReadyPods(ctx, g, "web", 5)
	scale := func(n int32) {
		err := retry.RetryOnConflict(conflictBackoff(), func() error {
			cur, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, rs.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Replicas = ptr.To(n)
			_, err = e.client.AppsV1().ReplicaSets(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "scaling to %d", n)
	}
	mu.Lock()
	bound = 12
	mu.Unlock()
	scale(12)
	e.waitReadyPods(ctx, g, "web", 12)
	scale(3)
	e.waitReadyPods(ctx, g, "web", 3)
	mu.Lock()
	lower = 3
	mu.Unlock()
	consistently(ctx, g, "stays at 3", func(g gomega.Gomega) {
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(3))
	})
	g.Expect(o.done()).To(gomega.BeEmpty(), "the ReplicaSet overshot")
}

func specCtrlReplicaSetStatus(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 3))
	e.eventually(ctx, g, "status counts", func(g gomega.Gomega) {
		rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(rs.Status.ObservedGeneration).To(gomega.Equal(rs.Generation))
		g.Expect(rs.Status.Replicas).To(gomega.Equal(int32(3)))
		g.Expect(rs.Status.ReadyReplicas).To(gomega.Equal(int32(3)))
		g.Expect(rs.Status.AvailableReplicas).To(gomega.Equal(int32(3)))
	})
}

func specCtrlReplacesDeleted(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 3))
	pods := e.waitReadyPods(ctx, g, "web", 3)
	victim := pods[0]
	g.Expect(e.client.CoreV1().Pods(e.ns).Delete(ctx, victim.Name, metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "the deleted pod replaced", func(g gomega.Gomega) {
		now := e.activePods(ctx, g, "web")
		g.Expect(podNames(now)).To(gomega.HaveLen(3))
		for _, p := range now {
			g.Expect(p.UID).NotTo(gomega.Equal(victim.UID))
			g.Expect(readyCond(&p)).To(gomega.BeTrue())
		}
	})
}

func specCtrlAdopts(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	t := ctrlTemplate("web", ctrlImage1)
	var orphans []string
	for i := range 2 {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("orphan-%d", i), Labels: t.Labels}, Spec: t.Spec}
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		orphans = append(orphans, p.Name)
	}
	e.waitReadyPods(ctx, g, "web", 2)
	rs := e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 3))
	e.eventually(ctx, g, "orphans adopted and one pod created", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(3))
		names := map[string]bool{}
		for _, p := range pods {
			names[p.Name] = true
			g.Expect(controlledBy(&p, rs.UID)).To(gomega.BeTrue(), "pod %s must be controlled by the ReplicaSet", p.Name)
		}
		for _, o := range orphans {
			g.Expect(names).To(gomega.HaveKey(o), "orphan %s must be kept (adopted), not replaced", o)
		}
	})
	consistently(ctx, g, "exactly 3 pods", func(g gomega.Gomega) {
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(3))
	})
}

func specCtrlReleases(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	rs := e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 2))
	pods := e.waitReadyPods(ctx, g, "web", 2)
	moved := pods[0]
	patch := []byte(`{"metadata":{"labels":{"app":"elsewhere"}}}`)
	_, err := e.client.CoreV1().Pods(e.ns).Patch(ctx, moved.Name, "application/merge-patch+json", patch, metav1.PatchOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "relabelling a pod")
	e.eventually(ctx, g, "the relabelled pod released and replaced", func(g gomega.Gomega) {
		got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, moved.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "the released pod must not be deleted")
		g.Expect(controlledBy(got, rs.UID)).To(gomega.BeFalse(), "its controller reference must be removed")
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(2))
	})
}

func specCtrlDeletesUnscheduledFirst(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	rs := e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 2))
	running := e.waitReadyPods(ctx, g, "web", 2)
	if !e.holdBinding(g, true) {
		return
	}
	defer e.holdBinding(g, false)
	e.setReplicaSetReplicas(ctx, g, rs.Name, 3)
	e.eventually(ctx, g, "a third, unscheduled pod", func(g gomega.Gomega) {
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(3))
	})
	e.setReplicaSetReplicas(ctx, g, rs.Name, 2)
	e.eventually(ctx, g, "the unscheduled pod deleted, the running ones kept", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(2))
		got := []string{pods[0].Name, pods[1].Name}
		sort.Strings(got)
		want := []string{running[0].Name, running[1].Name}
		sort.Strings(want)
		g.Expect(got).To(gomega.Equal(want))
	})
}

// --- node lifecycle -----------------------------------------------------------

func nodeReady(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

// killNodeOf stops the node running the first ready pod of app and returns it.
func (e *ctrlEnv) killNodeOf(ctx context.Context, g gomega.Gomega, pods []corev1.Pod) string {
	node := pods[0].Spec.NodeName
	g.ExpectWithOffset(1, node).NotTo(gomega.BeEmpty())
	g.ExpectWithOffset(1, e.agents.Kill(ctx, node)).To(gomega.Succeed(), "stopping node %s", node)
	return node
}

func (e *ctrlEnv) waitUnreachable(ctx context.Context, g gomega.Gomega, node string) {
	e.eventually(ctx, g, "node "+node+" Unknown and tainted unreachable", func(g gomega.Gomega) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(nodeReady(n)).To(gomega.Equal(corev1.ConditionUnknown), "Ready condition")
		g.Expect(hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)).To(gomega.BeTrue(), "NoSchedule taint")
		g.Expect(hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)).To(gomega.BeTrue(), "NoExecute taint")
	})
}

func specCtrlNodeUnreachable(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	grace, _ := e.graceAndEviction()
	e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 3))
	pods := e.waitReadyPods(ctx, g, "web", 3)
	dead := e.killNodeOf(ctx, g, pods)
	e.advance(ctx, g, grace/2)
	consistently(ctx, g, "still Ready within the grace period", func(g gomega.Gomega) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, dead, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(nodeReady(n)).To(gomega.Equal(corev1.ConditionTrue))
	})
	e.advance(ctx, g, grace/2+15*time.Second)
	e.waitUnreachable(ctx, g, dead)
	for _, name := range e.nodes {
		if name == dead {
			continue
		}
		n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(nodeReady(n)).To(gomega.Equal(corev1.ConditionTrue), "node %s kept renewing its lease", name)
		g.Expect(hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)).To(gomega.BeFalse(), "node %s", name)
	}
}

func specCtrlNodeEviction(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	grace, evict := e.graceAndEviction()
	e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 3))
	pods := e.waitReadyPods(ctx, g, "web", 3)
	dead := pods[0].Spec.NodeName
	// Two pods pinned to the node: one tolerating the taint forever, one
	// for 10 s only.
	for name, tol := range map[string]corev1.Toleration{
		"forever": {Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		"short":   {Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(10))},
	} {
		t := ctrlTemplate(name, ctrlImage1)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: t.Labels}, Spec: t.Spec}
		p.Spec.NodeName = dead
		p.Spec.Tolerations = []corev1.Toleration{tol}
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		e.waitReadyPods(ctx, g, name, 1)
	}
	g.Expect(e.agents.Kill(ctx, dead)).To(gomega.Succeed())
	e.advance(ctx, g, grace+15*time.Second)
	e.waitUnreachable(ctx, g, dead)
	evicted := func(g gomega.Gomega, name string) bool {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true
		}
		g.Expect(err).NotTo(gomega.HaveOccurred())
		return p.DeletionTimestamp != nil
	}
	e.advance(ctx, g, 20*time.Second)
	e.eventually(ctx, g, "the pod tolerating 10 s evicted", func(g gomega.Gomega) {
		g.Expect(evicted(g, "short")).To(gomega.BeTrue())
	})
	g.Expect(evicted(g, pods[0].Name)).To(gomega.BeFalse(), "a pod without toleration must stay for its default toleration period")
	e.advance(ctx, g, evict-60*time.Second)
	consistently(ctx, g, "not evicted before the toleration period ends", func(g gomega.Gomega) {
		g.Expect(evicted(g, pods[0].Name)).To(gomega.BeFalse())
	})
	e.advance(ctx, g, 60*time.Second)
	e.eventually(ctx, g, "evicted after the toleration period and replaced elsewhere", func(g gomega.Gomega) {
		g.Expect(evicted(g, pods[0].Name)).To(gomega.BeTrue())
		now := e.activePods(ctx, g, "web")
		g.Expect(podNames(now)).To(gomega.HaveLen(3))
		for _, p := range now {
			g.Expect(p.Spec.NodeName).NotTo(gomega.Equal(dead))
			g.Expect(readyCond(&p)).To(gomega.BeTrue())
		}
	})
	g.Expect(evicted(g, "forever")).To(gomega.BeFalse(), "a pod tolerating the taint without tolerationSeconds must stay")
}

func specCtrlNodeRecovery(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	grace, _ := e.graceAndEviction()
	dead := e.nodes[0]
	g.Expect(e.agents.Kill(ctx, dead)).To(gomega.Succeed())
	e.advance(ctx, g, grace+15*time.Second)
	e.waitUnreachable(ctx, g, dead)
	g.Expect(e.agents.Revive(ctx, dead)).To(gomega.Succeed())
	e.advance(ctx, g, 10*time.Second)
	e.eventually(ctx, g, "taints removed after recovery", func(g gomega.Gomega) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, dead, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(nodeReady(n)).To(gomega.Equal(corev1.ConditionTrue))
		g.Expect(hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)).To(gomega.BeFalse())
		g.Expect(hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)).To(gomega.BeFalse())
	})
}

// --- EndpointSlice -----------------------------------------------------------

func specCtrlEndpointSlices(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"svc": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	rs := ctrlReplicaSet("web", 2)
	rs.Spec.Template.Labels["svc"] = "web"
	e.createReplicaSet(ctx, g, rs)
	// A pod of the Service (not of the ReplicaSet) on a node without a
	// kubelet, reported running but not ready. The Node must exist: the
	// EndpointSlice controller leaves out pods whose Node it cannot find
	// (k8s.io/endpointslice reconciler: "skipping Pod for Service, Node not
	// found") unless the Service publishes not-ready addresses.
	t := ctrlTemplate("lame", ctrlImage1)
	lame := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "not-ready", Labels: map[string]string{"app": "lame", "svc": "web"}}, Spec: t.Spec}
	lame.Spec.NodeName = e.nodeWithoutKubelet(ctx, g)
	lame, err = e.client.CoreV1().Pods(e.ns).Create(ctx, lame, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	lame.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.99.0.1", PodIPs: []corev1.PodIP{{IP: "10.99.0.1"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}
	_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, lame, metav1.UpdateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())

	check := func(g gomega.Gomega) {
		list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "svc=web"})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		want := map[string]bool{}
		for _, p := range list.Items {
			if isActive(&p) && p.Status.PodIP != "" {
				want[p.Status.PodIP] = readyCond(&p)
			}
		}
		g.Expect(want).To(gomega.HaveLen(3))
		slices, err := e.client.DiscoveryV1().EndpointSlices(e.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		got := map[string]bool{}
		for _, s := range slices.Items {
			g.Expect(s.Ports).To(gomega.ContainElement(gomega.HaveField("Port", gomega.HaveValue(gomega.Equal(int32(8080))))), "the named target port resolved")
			for _, ep := range s.Endpoints {
				for _, a := range ep.Addresses {
					got[a] = ptr.Deref(ep.Conditions.Ready, false)
				}
			}
		}
		g.Expect(got).To(gomega.Equal(want), "addresses and readiness in the slices")
	}
	e.eventually(ctx, g, "slices list the pods", check)
	pods := e.waitReadyPods(ctx, g, "web", 2)
	g.Expect(e.client.CoreV1().Pods(e.ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "slices follow the replacement", func(g gomega.Gomega) {
		now := e.activePods(ctx, g, "web")
		g.Expect(podNames(now)).To(gomega.HaveLen(2))
		for _, p := range now {
			g.Expect(p.UID).NotTo(gomega.Equal(pods[0].UID))
		}
		check(g)
	})
}

func specCtrlEndpointSliceMissingNode(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	sel := map[string]string{"svc": "lost"}
	for _, publish := range []bool{false, true} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("publish-%t", publish)},
			Spec: corev1.ServiceSpec{Selector: sel, PublishNotReadyAddresses: publish,
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		}
		_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
	}
	missing := e.ns + "-missing"
	ips := map[string]string{e.nodeWithoutKubelet(ctx, g): "10.99.0.20", missing: "10.99.0.21"}
	for node, ip := range ips {
		t := ctrlTemplate("lost", ctrlImage1)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-" + node, Labels: sel}, Spec: t.Spec}
		p.Spec.NodeName = node
		p, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
	}
	addresses := func(g gomega.Gomega, svc string) []string {
		slices, err := e.client.DiscoveryV1().EndpointSlices(e.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		var out []string
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				out = append(out, ep.Addresses...)
			}
		}
		sort.Strings(out)
		return out
	}
	both := []string{"10.99.0.20", "10.99.0.21"}
	e.eventually(ctx, g, "the pod of the missing Node listed for the Service publishing not-ready addresses only", func(g gomega.Gomega) {
		g.Expect(addresses(g, "publish-true")).To(gomega.Equal(both), "publishNotReadyAddresses")
		g.Expect(addresses(g, "publish-false")).To(gomega.Equal([]string{"10.99.0.20"}), "without publishNotReadyAddresses")
	})
	e.bareNode(ctx, g, missing)
	e.eventually(ctx, g, "the pod listed once its Node exists", func(g gomega.Gomega) {
		g.Expect(addresses(g, "publish-false")).To(gomega.Equal(both))
	})
}

func specCtrlEndpointSliceRecreated(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	// Two pods that give the Service's named target port different numbers:
	// the controller writes one slice per port number.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "named"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"svc": "named"}, PublishNotReadyAddresses: true,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	ipByPort := map[int32]string{3000: "10.99.0.10", 3001: "10.99.0.11"}
	for port, ip := range ipByPort {
		t := ctrlTemplate("named", ctrlImage1)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("port-%d", port), Labels: map[string]string{"svc": "named"}}, Spec: t.Spec}
		p.Spec.NodeName = "no-kubelet-node"
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}}
		p, err = e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
	}
	// byPort waits until the Service has exactly one slice per port number,
	// each listing the address of its pod.
	byPort := func(g gomega.Gomega) map[int32]discoveryv1.EndpointSlice {
		slices, err := e.client.DiscoveryV1().EndpointSlices(e.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=named"})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		out := map[int32]discoveryv1.EndpointSlice{}
		for _, s := range slices.Items {
			g.Expect(s.Ports).To(gomega.HaveLen(1), "slice %s ports", s.Name)
			port := ptr.Deref(s.Ports[0].Port, 0)
			g.Expect(out).NotTo(gomega.HaveKey(port), "two slices for port %d", port)
			g.Expect(s.Endpoints).To(gomega.HaveLen(1), "slice %s endpoints", s.Name)
			g.Expect(s.Endpoints[0].Addresses).To(gomega.Equal([]string{ipByPort[port]}), "slice %s for port %d", s.Name, port)
			out[port] = s
		}
		g.Expect(out).To(gomega.HaveLen(2))
		return out
	}
	var before map[int32]discoveryv1.EndpointSlice
	e.eventually(ctx, g, "one slice per port number", func(g gomega.Gomega) { before = byPort(g) })
	gone := before[3000]
	g.Expect(e.client.DiscoveryV1().EndpointSlices(e.ns).Delete(ctx, gone.Name, metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "the deleted slice recreated, the other kept", func(g gomega.Gomega) {
		now := byPort(g)
		g.Expect(now[3000].UID).NotTo(gomega.Equal(gone.UID), "a new slice for port 3000")
		kept := before[3001]
		g.Expect(now[3001].UID).To(gomega.Equal(kept.UID), "the slice for port 3001 is the same object")
		g.Expect(now[3001].Generation).To(gomega.Equal(kept.Generation), "the slice for port 3001 is not rewritten")
	})
}

// --- garbage collection --------------------------------------------------------

func specCtrlGCBackground(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createDeployment(ctx, g, ctrlDeployment("web", 2))
	e.waitRolledOut(ctx, g, "web")
	bg := metav1.DeletePropagationBackground
	g.Expect(e.client.AppsV1().Deployments(e.ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &bg})).To(gomega.Succeed())
	e.eventually(ctx, g, "ReplicaSets and pods deleted", func(g gomega.Gomega) {
		rss, err := e.client.AppsV1().ReplicaSets(e.ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(rss.Items).To(gomega.BeEmpty())
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.BeEmpty())
	})
}

func specCtrlGCDefault(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 2))
	e.waitReadyPods(ctx, g, "web", 2)
	g.Expect(e.client.AppsV1().ReplicaSets(e.ns).Delete(ctx, "web", metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "pods deleted with their ReplicaSet", func(g gomega.Gomega) {
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.BeEmpty())
	})
}

func specCtrlGCOrphan(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	rs := e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 2))
	e.waitReadyPods(ctx, g, "web", 2)
	orphan := metav1.DeletePropagationOrphan
	g.Expect(e.client.AppsV1().ReplicaSets(e.ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &orphan})).To(gomega.Succeed())
	e.eventually(ctx, g, "the ReplicaSet gone", func(g gomega.Gomega) {
		_, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, "web", metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "Get returned %v", err)
	})
	e.eventually(ctx, g, "its pods kept, without a controller reference", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(2))
		for _, p := range pods {
			g.Expect(controlledBy(&p, rs.UID)).To(gomega.BeFalse(), "pod %s", p.Name)
		}
	})
	consistently(ctx, g, "orphans stay", func(g gomega.Gomega) {
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(2))
	})
}

func specCtrlGCForeground(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 2))
	e.waitReadyPods(ctx, g, "web", 2)
	fg := metav1.DeletePropagationForeground
	g.Expect(e.client.AppsV1().ReplicaSets(e.ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &fg})).To(gomega.Succeed())
	var early []string
	e.eventually(ctx, g, "pods deleted before the ReplicaSet", func(g gomega.Gomega) {
		_, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, "web", metav1.GetOptions{})
		gone := apierrors.IsNotFound(err)
		list, lerr := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		g.Expect(lerr).NotTo(gomega.HaveOccurred())
		if gone && len(list.Items) > 0 && early == nil {
			for _, p := range list.Items {
				early = append(early, p.Name)
			}
		}
		g.Expect(gone).To(gomega.BeTrue(), "the ReplicaSet must go once its pods are gone")
		g.Expect(list.Items).To(gomega.BeEmpty(), "its pods must be gone")
	})
	g.Expect(early).To(gomega.BeEmpty(), "the ReplicaSet disappeared while these pods remained")
}

func specCtrlNamespaceDelete(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	ns := e.ns + "-doomed"
	_, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	e.c.Cleanup(func() { _ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	_, err = e.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	d := ctrlDeployment("web", 1)
	_, err = e.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	e.eventually(ctx, g, "the Deployment's ReplicaSet exists", func(g gomega.Gomega) {
		rss, err := e.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(rss.Items).NotTo(gomega.BeEmpty())
	})
	g.Expect(e.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "the namespace and its contents gone", func(g gomega.Gomega) {
		_, err := e.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "namespace Get returned %v", err)
	})
	for what, list := range map[string]func() (int, error){
		"configmaps": func() (int, error) {
			l, err := e.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
		"replicasets": func() (int, error) {
			l, err := e.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
		"pods": func() (int, error) {
			l, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
	} {
		n, err := list()
		if err == nil {
			g.Expect(n).To(gomega.BeZero(), "%s left in the deleted namespace", what)
		}
	}
}

// --- manager ------------------------------------------------------------------

func specCtrlCatchUp(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createReplicaSet(ctx, g, ctrlReplicaSet("kept", 2))
	pods := e.waitReadyPods(ctx, g, "kept", 2)
	g.Expect(e.cut.Stop(ctx)).To(gomega.Succeed(), "stopping the controller manager")
	restarted := false
	defer func() {
		if !restarted {
			_ = e.cut.Start(context.Background())
		}
	}()
	e.createDeployment(ctx, g, ctrlDeployment("web", 2))
	g.Expect(e.client.CoreV1().Pods(e.ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{})).To(gomega.Succeed())
	consistently(ctx, g, "nothing changes while the manager is stopped", func(g gomega.Gomega) {
		rss, err := e.client.AppsV1().ReplicaSets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(rss.Items).To(gomega.BeEmpty(), "no ReplicaSet for the Deployment yet")
		g.Expect(podNames(e.activePods(ctx, g, "kept"))).To(gomega.HaveLen(1), "the deleted pod is not replaced yet")
	})
	g.Expect(e.cut.Start(ctx)).To(gomega.Succeed(), "restarting the controller manager")
	restarted = true
	e.waitRolledOut(ctx, g, "web")
	e.waitReadyPods(ctx, g, "web", 2)
	e.waitReadyPods(ctx, g, "kept", 2)
}

func specCtrlGCCycle(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	uids := map[string]types.UID{}
	names := []string{"cycle-1", "cycle-2", "cycle-3"}
	for _, n := range names {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "creating ConfigMap %s", n)
		uids[n] = cm.UID
	}
	// cycle-1 is owned by cycle-3, cycle-2 by cycle-1, cycle-3 by cycle-2, each reference blocking.
	for i, n := range names {
		owner := names[(i+2)%3]
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":%q,"uid":%q,"controller":true,"blockOwnerDeletion":true}]}}`, owner, uids[owner])
		_, err := cms.Patch(ctx, n, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "making %s a dependent of %s", n, owner)
	}
	fg := metav1.DeletePropagationForeground
	uid := uids["cycle-1"]
	g.Expect(cms.Delete(ctx, "cycle-1", metav1.DeleteOptions{PropagationPolicy: &fg, Preconditions: &metav1.Preconditions{UID: &uid}})).To(gomega.Succeed())
	e.eventually(ctx, g, "every member of the cycle deleted", func(g gomega.Gomega) {
		for _, n := range names {
			_, err := cms.Get(ctx, n, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "%s: Get returned %v", n, err)
		}
	})
}

func specCtrlGCSharedDependent(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	uids := map[string]types.UID{}
	for _, n := range []string{"owner-deleted", "owner-kept", "only-deleted", "shared"} {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "creating ConfigMap %s", n)
		uids[n] = cm.UID
	}
	ref := func(owner string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","name":%q,"uid":%q,"blockOwnerDeletion":true}`, owner, uids[owner])
	}
	for n, owners := range map[string][]string{"only-deleted": {"owner-deleted"}, "shared": {"owner-deleted", "owner-kept"}} {
		refs := make([]string, len(owners))
		for i, o := range owners {
			refs[i] = ref(o)
		}
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[%s]}}`, strings.Join(refs, ","))
		_, err := cms.Patch(ctx, n, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "setting the owners of %s", n)
	}
	fg := metav1.DeletePropagationForeground
	uid := uids["owner-deleted"]
	g.Expect(cms.Delete(ctx, "owner-deleted", metav1.DeleteOptions{PropagationPolicy: &fg, Preconditions: &metav1.Preconditions{UID: &uid}})).To(gomega.Succeed())
	e.eventually(ctx, g, "the foreground-deleted owner and its only dependent gone", func(g gomega.Gomega) {
		for _, n := range []string{"owner-deleted", "only-deleted"} {
			_, err := cms.Get(ctx, n, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "%s: Get returned %v", n, err)
		}
	})
	shared, err := cms.Get(ctx, "shared", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "the dependent with an owner that stays must not be deleted")
	g.Expect(shared.DeletionTimestamp).To(gomega.BeNil(), "the dependent with an owner that stays must not be being deleted")
	g.Expect(shared.OwnerReferences).To(gomega.HaveLen(1), "the dependent must keep only its reference to the owner that stays")
	g.Expect(shared.OwnerReferences[0].UID).To(gomega.Equal(uids["owner-kept"]), "the remaining owner reference")
}

func specCtrlNamespacePodsFirst(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	ns := e.ns + "-ordered"
	_, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	const hold = "conformance.clusterkit.io/hold"
	release := func() {
		p, err := e.client.CoreV1().Pods(ns).Get(context.Background(), "held", metav1.GetOptions{})
		if err == nil && len(p.Finalizers) > 0 {
			p.Finalizers = nil
			_, _ = e.client.CoreV1().Pods(ns).Update(context.Background(), p, metav1.UpdateOptions{})
		}
	}
	e.c.Cleanup(func() {
		release()
		_ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	_, err = e.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{hold}},
		Spec:       corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1.0"}}},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "creating the pod with a finalizer")
	_, err = e.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "creating the ConfigMap")
	g.Expect(e.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "the pod marked for deletion and the namespace's deletion conditions written", func(g gomega.Gomega) {
		p, err := e.client.CoreV1().Pods(ns).Get(ctx, "held", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(p.DeletionTimestamp).NotTo(gomega.BeNil(), "the pod must be deleted first")
		n, err := e.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		var types []corev1.NamespaceConditionType
		for _, c := range n.Status.Conditions {
			types = append(types, c.Type)
		}
		g.Expect(types).To(gomega.ContainElements(corev1.NamespaceDeletionContentFailure, corev1.NamespaceContentRemaining, corev1.NamespaceFinalizersRemaining),
			"a terminating namespace reports its deletion conditions")
	})
	_, err = e.client.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "the ConfigMap must stay while a pod of the namespace remains")
	release()
	e.eventually(ctx, g, "the namespace gone once its pod is", func(g gomega.Gomega) {
		_, err := e.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "namespace Get returned %v", err)
	})
}
