package conformance

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// srcRolloutArithmetic: how a RollingUpdate turns maxSurge and maxUnavailable into pods.
const srcRolloutArithmetic = "Kubernetes: Deployments, Rolling Update Deployment (kubernetes.io/docs/concepts/workloads/controllers/deployment: \"the absolute number is calculated from percentage by rounding up\" for maxSurge, \"by rounding down\" for maxUnavailable); pkg/controller/deployment/util ResolveFenceposts (both zero → maxUnavailable 1), rolling.go reconcileNewReplicaSet / reconcileOldReplicaSets"

// srcReplicaAnnotations: the annotations kubectl and the controller read back.
const srcReplicaAnnotations = "Kubernetes: Deployments (kubernetes.io/docs/concepts/workloads/controllers/deployment, proportional scaling); pkg/controller/deployment/util deployment_util.go SetReplicasAnnotations, MaxSurge (0 unless RollingUpdate)"

// srcHistoryLimit: which old ReplicaSets the history limit removes.
const srcHistoryLimit = "Kubernetes: Deployments, Clean up Policy (kubernetes.io/docs/concepts/workloads/controllers/deployment/#clean-up-policy); pkg/controller/deployment/sync.go cleanupDeployment (only ReplicaSets with zero spec and status replicas, observed, not being deleted)"

// srcDeletionCost: the ReplicaSet's scale-down order.
const srcDeletionCost = "Kubernetes: ReplicaSet, Pod deletion cost (kubernetes.io/docs/concepts/workloads/controllers/replicaset/#pod-deletion-cost: \"pods with lower deletion cost are preferred to be deleted before pods with higher deletion cost\"); pkg/controller/controller_utils.go ActivePodsWithRanks"

// srcNewReplicaSet: which ReplicaSet of a Deployment is its new one.
const srcNewReplicaSet = "Kubernetes: Deployments (kubernetes.io/docs/concepts/workloads/controllers/deployment: a Deployment adopts orphaned ReplicaSets matching its selector); pkg/controller/deployment/util deployment_util.go FindNewReplicaSet (ReplicaSets sorted by creationTimestamp, then name — controller.ReplicaSetsByCreationTimestamp — the first whose template equals the Deployment's, ignoring pod-template-hash)"

// controllerRolloutSpecs are the specs of a RollingUpdate's arithmetic.
func controllerRolloutSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.deployment.rollout-rounding",
			"a RollingUpdate MUST size its steps as Kubernetes rounds the percentages: maxSurge rounded up (10 replicas, maxSurge 25 % → 13 pods planned at the first step), maxUnavailable rounded down (10 replicas, maxSurge 0, maxUnavailable 25 % → the old ReplicaSet first scaled to 8), and one pod unavailable when both round to zero (5 replicas, maxSurge 0, maxUnavailable 10 % → first scaled to 4)",
			srcRolloutArithmetic), specCtrlRolloutRounding},
		{ctrl("controllers.deployment.replica-annotations",
			"every ReplicaSet of a Deployment MUST carry the annotations deployment.kubernetes.io/desired-replicas (the Deployment's replicas) and deployment.kubernetes.io/max-replicas (replicas plus maxSurge rounded up; plus nothing for Recreate)",
			srcReplicaAnnotations), specCtrlReplicaAnnotations},
		{ctrl("controllers.deployment.history-limit-active",
			"revisionHistoryLimit MUST count only old ReplicaSets scaled down to zero: with revisionHistoryLimit 0 an old ReplicaSet MUST NOT be deleted while its spec or status still has replicas, and MUST be deleted once both are zero",
			srcHistoryLimit), specCtrlHistoryLimitActive},
		{ctrl("controllers.deployment.new-replicaset-choice",
			"of several ReplicaSets a Deployment controls whose pod template is its own, the new one MUST be the oldest, and of those created in the same second the first by name: it is scaled to the Deployment's replicas, the others stay old (no new ReplicaSet is made)",
			srcNewReplicaSet), specCtrlNewReplicaSetChoice},
		{ctrl("controllers.replicaset.deletion-cost",
			"scaling a ReplicaSet down MUST delete its running, ready pods in the order of their controller.kubernetes.io/pod-deletion-cost annotation, lowest first (a missing annotation counts as 0)",
			srcDeletionCost), specCtrlDeletionCost},
	}
}

// rolloutCase is one Deployment of specCtrlRolloutRounding.
type rolloutCase struct {
	name                string
	replicas            int32
	surge, unavailable  intstr.IntOrString
	wantMaxPlanned      int32 // 0: not checked
	wantFirstOldReplica int32 // 0: not checked
}

func specCtrlRolloutRounding(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	cases := []rolloutCase{
		{name: "round-surge", replicas: 10, surge: intstr.FromString("25%"), unavailable: intstr.FromString("25%"), wantMaxPlanned: 13},
		{name: "round-unavailable", replicas: 10, surge: intstr.FromInt32(0), unavailable: intstr.FromString("25%"), wantFirstOldReplica: 8},
		{name: "at-least-one", replicas: 5, surge: intstr.FromInt32(0), unavailable: intstr.FromString("10%"), wantFirstOldReplica: 4},
	}
	uids := map[types.UID]string{}
	for _, c := range cases {
		d := ctrlDeployment(c.name, c.replicas)
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxSurge: ptr.To(c.surge), MaxUnavailable: ptr.To(c.unavailable)}}
		uids[e.createDeployment(ctx, g, d).UID] = c.name
	}
	for _, c := range cases {
		e.waitRolledOut(ctx, g, c.name)
		e.waitReadyPods(ctx, g, c.name, int(c.replicas))
	}
	// Per Deployment: the most pods its ReplicaSets planned at once, and the first count its
	// revision-1 ReplicaSet was scaled to below its replicas.
	var mu sync.Mutex
	maxPlanned := map[string]int32{}
	firstOld := map[string]int32{}
	o := e.observe(ctx, g, func(_ []*corev1.Pod, rss []*appsv1.ReplicaSet) string {
		mu.Lock()
		defer mu.Unlock()
		planned := map[string]int32{}
		for _, rs := range rss {
			ref := metav1.GetControllerOfNoCopy(rs)
			if ref == nil {
				continue
			}
			name, ok := uids[ref.UID]
			if !ok {
				continue
			}
			n := ptr.Deref(rs.Spec.Replicas, 1)
			planned[name] += n
			if rs.Annotations["deployment.kubernetes.io/revision"] == "1" {
				for _, c := range cases {
					if _, seen := firstOld[name]; c.name == name && n < c.replicas && !seen {
						firstOld[name] = n
					}
				}
			}
		}
		for name, n := range planned {
			maxPlanned[name] = max(maxPlanned[name], n)
		}
		return ""
	})
	for _, c := range cases {
		e.setImage(ctx, g, c.name, "registry.example/web:2")
	}
	for _, c := range cases {
		e.waitRolledOut(ctx, g, c.name)
	}
	o.done()
	mu.Lock()
	defer mu.Unlock()
	for _, c := range cases {
		if c.wantMaxPlanned != 0 {
			g.Expect(maxPlanned[c.name]).To(gomega.Equal(c.wantMaxPlanned),
				"Deployment %s (%d replicas, maxSurge %s, maxUnavailable %s): the most pods its ReplicaSets planned at once during the rollout", c.name, c.replicas, c.surge.String(), c.unavailable.String())
		}
		if c.wantFirstOldReplica != 0 {
			g.Expect(firstOld).To(gomega.HaveKeyWithValue(c.name, c.wantFirstOldReplica),
				"Deployment %s (%d replicas, maxSurge %s, maxUnavailable %s): the first count its old ReplicaSet was scaled down to", c.name, c.replicas, c.surge.String(), c.unavailable.String())
		}
	}
}

func specCtrlDeletionCost(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	// The pods carry their costs from their creation, as orphans the ReplicaSet then adopts:
	// a cost patched onto a pod just before a scale-down may not have reached the
	// controller's cache yet (its pods and ReplicaSets come through different watches).
	// Costs against the order the pods would otherwise go in (the newest first): the oldest
	// is not the cheapest. web-2 has none (0).
	costs := map[string]string{"web-0": "1000", "web-1": "-5", "web-3": "50"}
	t := ctrlTemplate("web", ctrlImage1)
	for i := range 4 {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Labels: t.Labels}, Spec: t.Spec}
		if cost, ok := costs[p.Name]; ok {
			p.Annotations = map[string]string{"controller.kubernetes.io/pod-deletion-cost": cost}
		}
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "creating pod %s", p.Name)
	}
	e.waitReadyPods(ctx, g, "web", 4)
	rs := e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 4))
	e.eventually(ctx, g, "the four pods adopted, none added", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(4))
		for _, p := range pods {
			ref := metav1.GetControllerOfNoCopy(&p)
			g.Expect(ref).NotTo(gomega.BeNil(), "pod %s not adopted", p.Name)
			g.Expect(ref.UID).To(gomega.Equal(rs.UID), "pod %s's controller", p.Name)
		}
	})
	for _, step := range []struct {
		replicas int32
		left     []string
	}{
		{3, []string{"web-0", "web-2", "web-3"}}, // cost -5 goes first
		{1, []string{"web-0"}},                   // then 0 and 50
	} {
		e.setReplicaSetReplicas(ctx, g, rs.Name, step.replicas)
		want := append([]string(nil), step.left...)
		sort.Strings(want)
		e.eventually(ctx, g, fmt.Sprintf("the pods of the highest deletion costs left at %d replicas", step.replicas), func(g gomega.Gomega) {
			var got []string
			for _, p := range e.activePods(ctx, g, "web") {
				got = append(got, p.Name)
			}
			sort.Strings(got)
			g.Expect(got).To(gomega.Equal(want), "pods left (costs %v)", costs)
		})
	}
}

func specCtrlReplicaAnnotations(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	rolling := ctrlDeployment("rolling", 10)
	rolling.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxSurge: ptr.To(intstr.FromString("25%")), MaxUnavailable: ptr.To(intstr.FromInt32(1))}}
	recreate := ctrlDeployment("recreate", 3)
	recreate.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	for _, c := range []struct {
		d                 *appsv1.Deployment
		desired, maxTotal string
	}{{rolling, "10", "13"}, {recreate, "3", "3"}} {
		d := e.createDeployment(ctx, g, c.d)
		e.waitRolledOut(ctx, g, d.Name)
		e.eventually(ctx, g, "the replica annotations of "+d.Name+"'s ReplicaSet", func(g gomega.Gomega) {
			rss := e.replicaSetsOf(ctx, g, d)
			g.Expect(rss).To(gomega.HaveLen(1))
			g.Expect(rss[0].Annotations).To(gomega.HaveKeyWithValue("deployment.kubernetes.io/desired-replicas", c.desired))
			g.Expect(rss[0].Annotations).To(gomega.HaveKeyWithValue("deployment.kubernetes.io/max-replicas", c.maxTotal),
				"max-replicas of %s (%s)", d.Name, d.Spec.Strategy.Type)
		})
	}
}

func specCtrlHistoryLimitActive(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	d := ctrlDeployment("web", 4)
	d.Spec.RevisionHistoryLimit = ptr.To(int32(0))
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(1))}}
	d = e.createDeployment(ctx, g, d)
	e.waitRolledOut(ctx, g, "web")
	e.waitReadyPods(ctx, g, "web", 4)
	// Every deletion of one of d's ReplicaSets, with the last state seen of it.
	var mu sync.Mutex
	var early []string
	f := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithNamespace(e.ns))
	inf := f.Apps().V1().ReplicaSets().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		rs, ok := obj.(*appsv1.ReplicaSet)
		if !ok || !controlledBy(rs, d.UID) {
			return
		}
		if n, st := ptr.Deref(rs.Spec.Replicas, 1), rs.Status.Replicas; n != 0 || st != 0 {
			mu.Lock()
			early = append(early, fmt.Sprintf("%s deleted with spec.replicas %d, status.replicas %d", rs.Name, n, st))
			mu.Unlock()
		}
	}})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	stop := make(chan struct{})
	defer func() { close(stop); f.Shutdown() }()
	f.Start(stop)
	g.Expect(cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)).To(gomega.BeTrue(), "ReplicaSet informer synced")
	e.setImage(ctx, g, "web", "registry.example/web:2")
	e.waitRolledOut(ctx, g, "web")
	e.eventually(ctx, g, "only the new ReplicaSet left (revisionHistoryLimit 0)", func(g gomega.Gomega) {
		rss := e.replicaSetsOf(ctx, g, d)
		g.Expect(rss).To(gomega.HaveLen(1))
		g.Expect(rss[0].Annotations).To(gomega.HaveKeyWithValue("deployment.kubernetes.io/revision", "2"))
	})
	mu.Lock()
	defer mu.Unlock()
	g.Expect(early).To(gomega.BeEmpty(), "old ReplicaSets deleted while they still had replicas")
}

func specCtrlNewReplicaSetChoice(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const app = "tie"
	// Two orphaned ReplicaSets with the Deployment's selector and template, no replicas,
	// created in the same second (creationTimestamp counts seconds); the second name sorts
	// last. Created again under new names when a second boundary fell between them.
	var first, second string
	for attempt := range 5 {
		first, second = fmt.Sprintf("%s-a%d", app, attempt), fmt.Sprintf("%s-b%d", app, attempt)
		orphan := func(name string) *appsv1.ReplicaSet {
			rs := ctrlReplicaSet(app, 0)
			rs.Name = name
			rs.Labels = map[string]string{"app": app} // what the Deployment's selector adopts
			return e.createReplicaSet(ctx, g, rs)
		}
		a, b := orphan(first), orphan(second)
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			break
		}
		for _, name := range []string{first, second} {
			g.Expect(e.client.AppsV1().ReplicaSets(e.ns).Delete(ctx, name, metav1.DeleteOptions{})).To(gomega.Succeed())
		}
		first = ""
	}
	g.Expect(first).NotTo(gomega.BeEmpty(), "two ReplicaSets created back to back never shared their creation second in 5 tries")
	e.createDeployment(ctx, g, ctrlDeployment(app, 2))
	e.waitRolledOut(ctx, g, app)
	e.eventually(ctx, g, "ReplicaSet "+first+" is the new one", func(g gomega.Gomega) {
		list, err := e.client.AppsV1().ReplicaSets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		replicas := map[string]int32{}
		for _, rs := range list.Items {
			replicas[rs.Name] = ptr.Deref(rs.Spec.Replicas, 1)
		}
		g.Expect(replicas).To(gomega.Equal(map[string]int32{first: 2, second: 0}),
			"the ReplicaSets' replicas: %s (first by name of the oldest) is the new one, %s stays old, none is added", first, second)
	})
}
