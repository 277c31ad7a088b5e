package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Sources of what the workload controllers do when the API server refuses their writes.
const (
	srcReplicaFailure     = "Kubernetes: ReplicaSet status conditions, ReplicaFailure (k8s.io/api apps/v1 ReplicaSetReplicaFailure: \"added in a replica set when one of its pods fails to be created due to insufficient quota, limit ranges, pod security policy, node selectors, etc. or deleted due to kubelet being down or finalizers are failing\"); pkg/controller/replicaset: manageReplicas (slow-start batches, FailedCreate/FailedDelete Events, the failed sync retried with back-off) and calculateStatus (the condition set on a failed create or delete, removed by a sync that succeeds)"
	srcDeploymentFailures = srcDeployments + ", Failed Deployment (ReplicaFailure, ReplicaSetCreateError); pkg/controller/deployment: progress.go getReplicaFailures (a ReplicaSet's ReplicaFailure becomes the Deployment's, the new ReplicaSet's first), sync.go getNewReplicaSet (Progressing=False reason ReplicaSetCreateError and a Warning Event of that reason when the new ReplicaSet cannot be created), a failed sync retried with back-off"
)

// refusedMessage is the message of the controller specs' refusals.
const refusedMessage = "clusterkit spec: this write is refused"

func refusedWriteSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.replicaset.create-refused", "while the API server refuses a ReplicaSet's pod creates, the ReplicaSet MUST report it — a Warning FailedCreate Event and the status condition ReplicaFailure (True, reason FailedCreate), both carrying the refusal — and once creates are accepted again it MUST create the missing pods and remove the condition", srcReplicaFailure), specCtrlCreateRefused},
		{ctrl("controllers.replicaset.delete-refused", "while the API server refuses the pod deletes of a ReplicaSet's scale-down, the ReplicaSet MUST keep its pods and report it — a Warning FailedDelete Event and ReplicaFailure (True, reason FailedDelete), both carrying the refusal — and once deletes are accepted it MUST finish the scale-down and remove the condition", srcReplicaFailure), specCtrlDeleteRefused},
		{ctrl("controllers.deployment.replica-failure", "a Deployment whose ReplicaSet cannot create pods MUST report the ReplicaSet's failure as its own condition ReplicaFailure (True, reason FailedCreate, carrying the refusal), and MUST remove it once the pods are created and the rollout completes", srcDeploymentFailures), specCtrlDeploymentReplicaFailure},
		{ctrl("controllers.deployment.replicaset-create-refused", "when the API server refuses a Deployment's new ReplicaSet, the Deployment MUST report it — a Warning Event ReplicaSetCreateError and Progressing=False with reason ReplicaSetCreateError, both carrying the refusal — and once the ReplicaSet is accepted the rollout MUST complete", srcDeploymentFailures), specCtrlReplicaSetCreateRefused},
		{ctrl("controllers.deployment.history-delete-refused", "when the API server refuses the deletion of an old ReplicaSet beyond a Deployment's revisionHistoryLimit, the Deployment controller MUST try again: once the refusal is lifted the old ReplicaSet MUST be deleted, with nothing else changing in the cluster", srcDeploymentFailures+"; sync.go cleanupDeployment (a failed delete fails the sync)"), specCtrlHistoryDeleteRefused},
		{ctrl("controllers.deployment.scale-refused", "when the API server refuses a Deployment's scaling of its ReplicaSets (a RollingUpdate Deployment scaled up, a Recreate Deployment's old ReplicaSet scaled down for a new template), the Deployment controller MUST try again: once the refusal is lifted both rollouts MUST complete, with nothing else changing in the cluster", srcDeploymentFailures), specCtrlScaleRefused},
	}
}

// refusedPods makes the API server refuse the creates of the namespace's pods whose
// generateName starts with prefix (a ReplicaSet's pods are named after it).
func (e *ctrlEnv) refusedPods(ctx context.Context, g gomega.Gomega, prefix string) (lift func()) {
	return refuse(ctx, g, e.client, e.c, refusal{
		name: e.ns + "-refuse-pods", resource: "pods",
		operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		allow: fmt.Sprintf("request.namespace != %q || !has(object.metadata.generateName) || !object.metadata.generateName.startsWith(%q)",
			e.ns, prefix),
		message: refusedMessage,
	}, e.patience(), func() error {
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "probe-"},
			Spec:       ctrlTemplate("probe", ctrlImage1).Spec,
		}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
}

// patience is how long a spec waits for convergence.
func (e *ctrlEnv) patience() time.Duration {
	if e.h.Patience > 0 {
		return e.h.Patience
	}
	return ctrlEventualLimit
}

func replicaSetCondition(rs *appsv1.ReplicaSet, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range rs.Status.Conditions {
		if rs.Status.Conditions[i].Type == t {
			return &rs.Status.Conditions[i]
		}
	}
	return nil
}

func deploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func (e *ctrlEnv) getDeployment(ctx context.Context, g gomega.Gomega, name string) *appsv1.Deployment {
	d, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "getting Deployment %s", name)
	return d
}

// expectRefusalCondition asserts d's condition t with status and reason whose message carries the
// refusal.
func expectRefusalCondition(g gomega.Gomega, d *appsv1.Deployment, t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason string) {
	c := deploymentCondition(d, t)
	g.ExpectWithOffset(1, c).NotTo(gomega.BeNil(), "the Deployment's conditions %+v have no %s", d.Status.Conditions, t)
	g.ExpectWithOffset(1, c.Status).To(gomega.Equal(status), "%s's status", t)
	g.ExpectWithOffset(1, c.Reason).To(gomega.Equal(reason), "%s's reason", t)
	g.ExpectWithOffset(1, c.Message).To(gomega.ContainSubstring(refusedMessage), "%s's message must carry the API server's refusal", t)
}

// waitReplicaFailure waits until ReplicaSet name reports ReplicaFailure True with reason and
// the refusal, and a Warning Event of that reason carrying it; the condition then stays, once.
func (e *ctrlEnv) waitReplicaFailure(ctx context.Context, g gomega.Gomega, name, reason string) {
	e.eventually(ctx, g, fmt.Sprintf("ReplicaSet %s reports ReplicaFailure %s and a Warning %s Event, carrying the refusal", name, reason, reason), func(g gomega.Gomega) {
		rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		c := replicaSetCondition(rs, appsv1.ReplicaSetReplicaFailure)
		g.Expect(c).NotTo(gomega.BeNil(), "the ReplicaSet's conditions %+v have no ReplicaFailure", rs.Status.Conditions)
		g.Expect(c.Status).To(gomega.Equal(corev1.ConditionTrue), "ReplicaFailure's status")
		g.Expect(c.Reason).To(gomega.Equal(reason), "ReplicaFailure's reason")
		g.Expect(c.Message).To(gomega.ContainSubstring(refusedMessage), "ReplicaFailure's message must carry the API server's refusal")
		g.Expect(e.objectEvents(ctx, g, "ReplicaSet", name, rs.UID)).To(gomega.ContainElement(gomega.And(
			gomega.HavePrefix("Warning "+reason+": "), gomega.ContainSubstring(refusedMessage))),
			"the ReplicaSet's Events must include a Warning %s carrying the refusal", reason)
	})
	// The controller keeps retrying while refused: the condition stays, once.
	consistently(ctx, g, "ReplicaSet "+name+" keeps one ReplicaFailure condition while refused", func(g gomega.Gomega) {
		rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		var failures []appsv1.ReplicaSetCondition
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure {
				failures = append(failures, c)
			}
		}
		g.Expect(failures).To(gomega.HaveLen(1), "a status carries at most one condition of a type")
		g.Expect(failures[0].Status).To(gomega.Equal(corev1.ConditionTrue), "ReplicaFailure's status")
	})
}

// waitNoReplicaFailure waits until ReplicaSet name has n active pods and no ReplicaFailure.
func (e *ctrlEnv) waitNoReplicaFailure(ctx context.Context, g gomega.Gomega, name string, n int) {
	e.eventually(ctx, g, fmt.Sprintf("ReplicaSet %s has %d pods and no ReplicaFailure", name, n), func(g gomega.Gomega) {
		g.Expect(podNames(e.activePods(ctx, g, name))).To(gomega.HaveLen(n), "active pods of %s", name)
		rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(rs.Status.Replicas).To(gomega.Equal(int32(n)), "status.replicas")
		g.Expect(replicaSetCondition(rs, appsv1.ReplicaSetReplicaFailure)).To(gomega.BeNil(),
			"ReplicaFailure must be removed once the ReplicaSet's creates and deletes succeed")
	})
}

func specCtrlCreateRefused(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const name = "refused-web"
	lift := e.refusedPods(ctx, g, name)
	e.createReplicaSet(ctx, g, ctrlReplicaSet(name, 2))
	e.waitReplicaFailure(ctx, g, name, "FailedCreate")
	g.Expect(podNames(e.activePods(ctx, g, name))).To(gomega.BeEmpty(), "no pod may exist while every create is refused")
	lift()
	e.waitNoReplicaFailure(ctx, g, name, 2)
}

func specCtrlDeleteRefused(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const name = "refused-web"
	e.createReplicaSet(ctx, g, ctrlReplicaSet(name, 3))
	pods := e.waitReadyPods(ctx, g, name, 3)
	lift := refuse(ctx, g, e.client, e.c, refusal{
		name: e.ns + "-refuse-deletes", resource: "pods",
		operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
		allow:      fmt.Sprintf("request.namespace != %q || !oldObject.metadata.name.startsWith(%q)", e.ns, name),
		message:    refusedMessage,
	}, e.patience(), func() error {
		return e.client.CoreV1().Pods(e.ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	})
	e.setReplicaSetReplicas(ctx, g, name, 1)
	e.waitReplicaFailure(ctx, g, name, "FailedDelete")
	g.Expect(podNames(e.activePods(ctx, g, name))).To(gomega.HaveLen(3), "every pod must stay while its delete is refused")
	lift()
	e.waitNoReplicaFailure(ctx, g, name, 1)
}

func specCtrlDeploymentReplicaFailure(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const name = "refused-web"
	lift := e.refusedPods(ctx, g, name)
	e.createDeployment(ctx, g, ctrlDeployment(name, 2))
	e.eventually(ctx, g, "Deployment "+name+" reports ReplicaFailure FailedCreate carrying the refusal", func(g gomega.Gomega) {
		expectRefusalCondition(g, e.getDeployment(ctx, g, name), appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, "FailedCreate")
	})
	lift()
	d := e.waitRolledOut(ctx, g, name)
	e.eventually(ctx, g, "Deployment "+name+" without ReplicaFailure", func(g gomega.Gomega) {
		g.Expect(deploymentCondition(e.getDeployment(ctx, g, d.Name), appsv1.DeploymentReplicaFailure)).To(gomega.BeNil(),
			"ReplicaFailure must be removed once the ReplicaSet has created its pods")
	})
}

func specCtrlReplicaSetCreateRefused(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const name = "refused-web"
	lift := refuse(ctx, g, e.client, e.c, refusal{
		name: e.ns + "-refuse-replicasets", group: "apps", resource: "replicasets",
		operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		allow:      fmt.Sprintf("request.namespace != %q || !object.metadata.name.startsWith(%q)", e.ns, name),
		message:    refusedMessage,
	}, e.patience(), func() error {
		_, err := e.client.AppsV1().ReplicaSets(e.ns).Create(ctx, ctrlReplicaSet(name+"-probe", 0), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
	d := ctrlDeployment(name, 2)
	d.Spec.ProgressDeadlineSeconds = ptr.To(int32(600))
	created := e.createDeployment(ctx, g, d)
	e.eventually(ctx, g, "Deployment "+name+" reports ReplicaSetCreateError carrying the refusal", func(g gomega.Gomega) {
		expectRefusalCondition(g, e.getDeployment(ctx, g, name), appsv1.DeploymentProgressing, corev1.ConditionFalse, "ReplicaSetCreateError")
		g.Expect(e.objectEvents(ctx, g, "Deployment", name, created.UID)).To(gomega.ContainElement(gomega.And(
			gomega.HavePrefix("Warning ReplicaSetCreateError: "), gomega.ContainSubstring(refusedMessage))),
			"the Deployment's Events must include a Warning ReplicaSetCreateError carrying the refusal")
	})
	lift()
	e.waitRolledOut(ctx, g, name)
}

func specCtrlScaleRefused(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const rolling, recreate = "refused-rolling", "refused-recreate"
	e.createDeployment(ctx, g, ctrlDeployment(rolling, 1))
	rd := ctrlDeployment(recreate, 2)
	rd.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	e.createDeployment(ctx, g, rd)
	d := e.waitRolledOut(ctx, g, rolling)
	e.waitRolledOut(ctx, g, recreate)
	rss := e.replicaSetsOf(ctx, g, d)
	g.Expect(rss).To(gomega.HaveLen(1), "Deployment %s's ReplicaSets", rolling)
	// Changes of spec.replicas of the ReplicaSets named refused… are refused; their status
	// (a subresource) and everything else still pass.
	lift := refuse(ctx, g, e.client, e.c, refusal{
		name: e.ns + "-refuse-scaling", group: "apps", resource: "replicasets",
		operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
		allow: fmt.Sprintf("request.namespace != %q || !object.metadata.name.startsWith(\"refused\") || object.spec.replicas == oldObject.spec.replicas",
			e.ns),
		message: refusedMessage,
	}, e.patience(), func() error {
		rs := rss[0].DeepCopy()
		rs.Spec.Replicas = ptr.To(ptr.Deref(rs.Spec.Replicas, 1) + 1)
		_, err := e.client.AppsV1().ReplicaSets(e.ns).Update(ctx, rs, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
	g.Expect(e.editDeployment(ctx, rolling, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(3)) })).To(gomega.Succeed(), "scaling %s to 3", rolling)
	e.setImage(ctx, g, recreate, "registry.example/web:2")
	// The controller tries and is refused for a while (a failed sync is not reported in the
	// Deployment's status): nothing may move.
	g.Consistently(ctx, func(g gomega.Gomega) {
		g.Expect(podNames(e.activePods(ctx, g, rolling))).To(gomega.HaveLen(1), "pods of %s", rolling)
		g.Expect(podNames(e.activePods(ctx, g, recreate))).To(gomega.HaveLen(2), "pods of %s", recreate)
	}).WithTimeout(2*time.Second).WithPolling(ctrlPoll).Should(gomega.Succeed(), "no ReplicaSet is scaled while scaling is refused")
	lift()
	e.waitRolledOut(ctx, g, rolling)
	e.waitRolledOut(ctx, g, recreate)
	g.Expect(podNames(e.activePods(ctx, g, rolling))).To(gomega.HaveLen(3), "pods of %s", rolling)
}

func specCtrlHistoryDeleteRefused(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const name = "refused-web"
	d := ctrlDeployment(name, 1)
	d.Spec.RevisionHistoryLimit = ptr.To(int32(0))
	e.createDeployment(ctx, g, d)
	d = e.waitRolledOut(ctx, g, name)
	first := e.replicaSetsOf(ctx, g, d)
	g.Expect(first).To(gomega.HaveLen(1), "Deployment %s's ReplicaSets", name)
	lift := refuse(ctx, g, e.client, e.c, refusal{
		name: e.ns + "-refuse-rs-deletes", group: "apps", resource: "replicasets",
		operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
		allow:      fmt.Sprintf("request.namespace != %q || !oldObject.metadata.name.startsWith(%q)", e.ns, name),
		message:    refusedMessage,
	}, e.patience(), func() error {
		return e.client.AppsV1().ReplicaSets(e.ns).Delete(ctx, first[0].Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	})
	e.setImage(ctx, g, name, "registry.example/web:2")
	e.eventually(ctx, g, "the old ReplicaSet "+first[0].Name+" scaled to zero", func(g gomega.Gomega) {
		old, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, first[0].Name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "the old ReplicaSet must stay while its deletion is refused")
		g.Expect(ptr.Deref(old.Spec.Replicas, 1)).To(gomega.BeZero(), "the old ReplicaSet's spec.replicas")
		g.Expect(old.Status.Replicas).To(gomega.BeZero(), "the old ReplicaSet's status.replicas")
	})
	// The controller tries to delete it and is refused for a while.
	g.Consistently(ctx, func(g gomega.Gomega) {
		_, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, first[0].Name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "the old ReplicaSet must stay while its deletion is refused")
	}).WithTimeout(2 * time.Second).WithPolling(ctrlPoll).Should(gomega.Succeed())
	lift()
	e.eventually(ctx, g, "the old ReplicaSet "+first[0].Name+" deleted once the refusal is lifted", func(g gomega.Gomega) {
		rss := e.replicaSetsOf(ctx, g, d)
		names := make([]string, 0, len(rss))
		for _, rs := range rss {
			if rs.DeletionTimestamp == nil {
				names = append(names, rs.Name)
			}
		}
		g.Expect(names).NotTo(gomega.ContainElement(first[0].Name), "Deployment %s's ReplicaSets (revisionHistoryLimit 0)", name)
		g.Expect(names).To(gomega.HaveLen(1), "Deployment %s's ReplicaSets (revisionHistoryLimit 0)", name)
	})
	e.waitRolledOut(ctx, g, name)
}
