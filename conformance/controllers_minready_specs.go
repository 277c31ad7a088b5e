package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// srcMinReadySeconds: what minReadySeconds means, in the ReplicaSet and Deployment docs and
// upstream's availability check (k8s.io/kubernetes pkg/api/v1/pod IsPodAvailable: Ready for
// more than minReadySeconds; pkg/controller FindMinNextPodAvailabilityCheck: the controller
// checks again when the earliest pod turns available).
const srcMinReadySeconds = "Kubernetes: Deployments, Min Ready Seconds (kubernetes.io/docs/concepts/workloads/controllers/deployment/#min-ready-seconds); ReplicaSet status (availableReplicas)"

func minReadySpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.replicaset.min-ready-seconds", "a ReplicaSet's pod MUST count in status.readyReplicas as soon as it is Ready and in status.availableReplicas only once it has been Ready for more than minReadySeconds — each pod on its own time, with nothing else changing", srcMinReadySeconds, VirtualTime, SimulatedNodes), specCtrlReplicaSetMinReady},
		{ctrl("controllers.deployment.min-ready-seconds", "a RollingUpdate with minReadySeconds MUST treat a new pod as unavailable until it has been Ready for more than minReadySeconds: with maxUnavailable 0 the old ReplicaSet MUST keep every replica until then; and the Deployment's minReadySeconds MUST be carried to its ReplicaSet, also when it changes", srcMinReadySeconds, VirtualTime, SimulatedNodes), specCtrlDeploymentMinReady},
	}
}

// waitReplicaSetCounts waits until ReplicaSet name has observed its generation and reports
// the given replicas, ready and available counts.
func (e *ctrlEnv) waitReplicaSetCounts(ctx context.Context, g gomega.Gomega, what, name string, replicas, ready, available int32) {
	e.eventually(ctx, g, what, func(g gomega.Gomega) {
		rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(rs.Status.ObservedGeneration).To(gomega.Equal(rs.Generation), "observedGeneration")
		g.Expect(rs.Status.Replicas).To(gomega.Equal(replicas), "replicas")
		g.Expect(rs.Status.ReadyReplicas).To(gomega.Equal(ready), "readyReplicas")
		g.Expect(rs.Status.AvailableReplicas).To(gomega.Equal(available), "availableReplicas")
	})
}

func (e *ctrlEnv) availableReplicas(ctx context.Context, g gomega.Gomega, name string) int32 {
	rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, name, metav1.GetOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	return rs.Status.AvailableReplicas
}

func specCtrlReplicaSetMinReady(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	rs := ctrlReplicaSet("web", 1)
	rs.Spec.MinReadySeconds = 60
	e.createReplicaSet(ctx, g, rs)
	e.waitReadyPods(ctx, g, "web", 1)
	e.waitReplicaSetCounts(ctx, g, "the first pod ready, not yet available", "web", 1, 1, 0)

	e.advance(ctx, g, 20*time.Second)
	e.setReplicaSetReplicas(ctx, g, "web", 2)
	e.waitReadyPods(ctx, g, "web", 2)
	e.waitReplicaSetCounts(ctx, g, "two pods ready (for 20 s and 0 s), neither available", "web", 2, 2, 0)
	consistently(ctx, g, "no pod available before minReadySeconds", func(g gomega.Gomega) {
		g.Expect(e.availableReplicas(ctx, g, "web")).To(gomega.BeZero())
	})

	// The first pod has been Ready 65 s, the second 45 s: one available, without any
	// change to a pod or the ReplicaSet — the controller has to look again by itself.
	e.advance(ctx, g, 45*time.Second)
	e.waitReplicaSetCounts(ctx, g, "the pod Ready for 65 s available, the one Ready for 45 s not", "web", 2, 2, 1)
	consistently(ctx, g, "the second pod not available before its own minReadySeconds", func(g gomega.Gomega) {
		g.Expect(e.availableReplicas(ctx, g, "web")).To(gomega.Equal(int32(1)))
	})

	e.advance(ctx, g, 20*time.Second)
	e.waitReplicaSetCounts(ctx, g, "both pods available", "web", 2, 2, 2)

	// A ReplicaSet that first sees its pods when both are already Ready (adopted orphans,
	// Ready for 45 s and 25 s): the earlier one MUST turn available first, 15 s later.
	t := ctrlTemplate("adopted", ctrlImage1)
	for i := range 2 {
		if i > 0 {
			e.advance(ctx, g, 20*time.Second)
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("orphan-%d", i), Labels: t.Labels}, Spec: t.Spec}
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "creating orphan pod %s", p.Name)
		e.waitReadyPods(ctx, g, "adopted", i+1)
	}
	e.advance(ctx, g, 25*time.Second)
	adopter := ctrlReplicaSet("adopted", 2)
	adopter.Spec.MinReadySeconds = 60
	e.createReplicaSet(ctx, g, adopter)
	e.waitReplicaSetCounts(ctx, g, "the orphans adopted, Ready for 45 s and 25 s, neither available", "adopted", 2, 2, 0)
	e.advance(ctx, g, 20*time.Second)
	e.waitReplicaSetCounts(ctx, g, "the orphan Ready for 65 s available, the one Ready for 45 s not", "adopted", 2, 2, 1)
}

// replicaSetOfImage returns the ReplicaSet of d whose template runs image (nil if none).
func (e *ctrlEnv) replicaSetOfImage(ctx context.Context, g gomega.Gomega, d *appsv1.Deployment, image string) *appsv1.ReplicaSet {
	for _, rs := range e.replicaSetsOf(ctx, g, d) {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return &rs
		}
	}
	return nil
}

func specCtrlDeploymentMinReady(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const image2 = "registry.example/web:2"
	d := ctrlDeployment("web", 2)
	d.Spec.MinReadySeconds = 30
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))}}
	d = e.createDeployment(ctx, g, d)
	e.waitReadyPods(ctx, g, "web", 2)
	e.advance(ctx, g, 35*time.Second)
	e.waitRolledOut(ctx, g, "web")

	e.setImage(ctx, g, "web", image2)
	e.eventually(ctx, g, "the surge pod of the new template Ready", func(g gomega.Gomega) {
		rs := e.replicaSetOfImage(ctx, g, d, image2)
		g.Expect(rs).NotTo(gomega.BeNil(), "no ReplicaSet of %s yet", image2)
		g.Expect(rs.Spec.MinReadySeconds).To(gomega.Equal(int32(30)), "the new ReplicaSet's minReadySeconds")
		g.Expect(rs.Status.ReadyReplicas).To(gomega.Equal(int32(1)), "readyReplicas of the new ReplicaSet")
	})
	consistently(ctx, g, "the old ReplicaSet keeps both replicas while the new pod is Ready for less than minReadySeconds", func(g gomega.Gomega) {
		old := e.replicaSetOfImage(ctx, g, d, ctrlImage1)
		g.Expect(old).NotTo(gomega.BeNil())
		g.Expect(ptr.Deref(old.Spec.Replicas, 1)).To(gomega.Equal(int32(2)), "spec.replicas of the old ReplicaSet")
		cur, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(cur.Status.AvailableReplicas).To(gomega.Equal(int32(2)), "the Deployment's availableReplicas: the old pods only")
	})

	// Each new pod becomes available minReadySeconds after it is Ready; one old pod goes
	// for each. Step until the rollout is done, never faster than the pods turn available.
	for round := 0; round < 3; round++ {
		e.advance(ctx, g, 35*time.Second)
		e.eventually(ctx, g, fmt.Sprintf("round %d: every pod of the new ReplicaSet Ready", round), func(g gomega.Gomega) {
			rs := e.replicaSetOfImage(ctx, g, d, image2)
			g.Expect(rs).NotTo(gomega.BeNil())
			g.Expect(rs.Status.ObservedGeneration).To(gomega.Equal(rs.Generation))
			g.Expect(rs.Status.ReadyReplicas).To(gomega.Equal(ptr.Deref(rs.Spec.Replicas, 1)))
		})
		cur, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		if cur.Status.UpdatedReplicas == 2 && cur.Status.AvailableReplicas == 2 && cur.Status.Replicas == 2 {
			break
		}
	}
	e.advance(ctx, g, 35*time.Second)
	e.waitRolledOut(ctx, g, "web")
	e.waitReadyPods(ctx, g, "web", 2)

	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cur, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.MinReadySeconds = 5
		_, err = e.client.AppsV1().Deployments(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "changing minReadySeconds")
	e.eventually(ctx, g, "the new minReadySeconds on the current ReplicaSet", func(g gomega.Gomega) {
		rs := e.replicaSetOfImage(ctx, g, d, image2)
		g.Expect(rs).NotTo(gomega.BeNil())
		g.Expect(rs.Spec.MinReadySeconds).To(gomega.Equal(int32(5)))
	})
}
