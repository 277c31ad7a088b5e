package conformance

import (
	"context"
	"slices"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// holdFinalizer keeps a deleted pod present (terminating, still Running) until the spec
// removes it: how a pod with a long grace period looks to a controller.
const holdFinalizer = "clusterkit.io/spec-hold"

func recreateSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.deployment.recreate-terminating", "a Recreate rollout MUST NOT create any pod of the new template while a pod of the old template is still terminating (deleted but not gone and not Succeeded or Failed), and MUST create them once those pods are gone", srcDeployments+"; upstream's recreate.go oldPodsRunning", SimulatedNodes), specCtrlRecreateTerminating},
	}
}

// releaseHeld removes holdFinalizer from every pod of the namespace that has it, and returns
// how many still had it.
func (e *ctrlEnv) releaseHeld(ctx context.Context, g gomega.Gomega, only func(*corev1.Pod) bool) int {
	pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	held := 0
	for _, p := range pods.Items {
		if !slices.Contains(p.Finalizers, holdFinalizer) || (only != nil && !only(&p)) {
			continue
		}
		held++
		_, err := e.client.CoreV1().Pods(e.ns).Patch(ctx, p.Name, types.JSONPatchType,
			[]byte(`[{"op":"test","path":"/metadata/resourceVersion","value":"`+p.ResourceVersion+`"},{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && !apierrors.IsInvalid(err) {
			g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "releasing pod %s", p.Name)
		}
	}
	return held
}

func specCtrlRecreateTerminating(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	const image2 = "registry.example/web:2"
	d := ctrlDeployment("web", 2)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	d.Spec.Template.Finalizers = []string{holdFinalizer}
	e.createDeployment(ctx, g, d)
	defer func() {
		// Nothing may stay held once the spec ends, whatever it found: the template loses the
		// finalizer, then every pod that has it is released.
		bg, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = retry.RetryOnConflict(conflictBackoff(), func() error {
			cur, err := e.client.AppsV1().Deployments(e.ns).Get(bg, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Template.Finalizers = nil
			_, err = e.client.AppsV1().Deployments(e.ns).Update(bg, cur, metav1.UpdateOptions{})
			return err
		})
		g.Eventually(bg, func(g gomega.Gomega) {
			g.Expect(e.releaseHeld(bg, g, nil)).To(gomega.BeZero())
		}).WithTimeout(time.Minute).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "releasing the held pods")
	}()
	e.waitRolledOut(ctx, g, "web")

	e.setImage(ctx, g, "web", image2)
	e.eventually(ctx, g, "the old pods deleted, held terminating", func(g gomega.Gomega) {
		pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		terminating := 0
		for _, p := range pods.Items {
			if p.Spec.Containers[0].Image == ctrlImage1 {
				g.Expect(p.DeletionTimestamp).NotTo(gomega.BeNil(), "old pod %s not deleted yet", p.Name)
				terminating++
			}
		}
		g.Expect(terminating).To(gomega.Equal(2), "terminating old pods")
	})
	consistently(ctx, g, "no pod of the new template while old pods terminate", func(g gomega.Gomega) {
		pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		for _, p := range pods.Items {
			g.Expect(p.Spec.Containers[0].Image).NotTo(gomega.Equal(image2), "pod %s of the new template created while the old pods terminate", p.Name)
		}
	})
	e.eventually(ctx, g, "the old pods released", func(g gomega.Gomega) {
		e.releaseHeld(ctx, g, func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image == ctrlImage1 })
		pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		for _, p := range pods.Items {
			g.Expect(p.Spec.Containers[0].Image).NotTo(gomega.Equal(ctrlImage1), "old pod %s still there", p.Name)
		}
	})
	e.eventually(ctx, g, "the new template's pods once the old ones are gone", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(2))
		for _, p := range pods {
			g.Expect(p.Spec.Containers[0].Image).To(gomega.Equal(image2))
		}
	})
}
