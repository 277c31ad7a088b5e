package conformance

import (
	"context"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Sources of the behaviours of the other built-in groups.
const (
	srcPriority      = "Kubernetes: Pod Priority and Preemption (kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption)"
	srcPriorityAPI   = "Kubernetes PriorityClass API validation (pkg/apis/scheduling/validation)"
	srcPriorityAdmit = "Kubernetes admission controllers: Priority (kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#priority)"
)

// apiGroupSpecs are the API specs of scheduling.k8s.io, policy, batch, node.k8s.io,
// certificates.k8s.io and flowcontrol.apiserver.k8s.io.
func apiGroupSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.priorityclass.system-classes", "the PriorityClasses system-cluster-critical (2000000000) and system-node-critical (2000001000) MUST exist, and deleting either MUST fail with 403 and leave it in place", srcPriority), specSystemPriorityClasses},
		{api("api.priorityclass.resolves", "a Pod naming a PriorityClass MUST be created with that class's value as spec.priority and its preemptionPolicy as spec.preemptionPolicy", srcPriorityAdmit), specPriorityClassResolves},
		{api("api.priorityclass.unknown-class", "creating a Pod naming a PriorityClass that does not exist MUST fail with 403 Forbidden, and store nothing", srcPriorityAdmit), specPriorityClassUnknown},
		{api("api.priorityclass.priority-mismatch", "creating a Pod whose spec.priority differs from the value of the PriorityClass it names MUST fail with 403 Forbidden, and store nothing", srcPriorityAdmit), specPriorityMismatch},
		{api("api.priorityclass.validation", "a PriorityClass above 1000000000, or named with the reserved system- prefix, MUST be rejected with 422 naming value or metadata.name, and an update of a class's value MUST be rejected with 422 naming value", srcPriorityAPI), specPriorityClassValidation},
	}
}

// createPriorityClass creates a PriorityClass of the spec's own (named after the spec's
// namespace, so concurrent specs never collide), deleted when the spec ends.
func (e *apiEnv) createPriorityClass(ctx context.Context, g gomega.Gomega, suffix string, value int32, policy *corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-" + suffix}, Value: value, PreemptionPolicy: policy}
	created, err := e.client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating PriorityClass %s", pc.Name)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.client.SchedulingV1().PriorityClasses().Delete(cctx, pc.Name, metav1.DeleteOptions{})
	})
	return created
}

func specSystemPriorityClasses(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pcs := e.client.SchedulingV1().PriorityClasses()
	for name, value := range map[string]int32{"system-cluster-critical": 2000000000, "system-node-critical": 2000001000} {
		pc, err := pcs.Get(ctx, name, metav1.GetOptions{})
		ok(g, err, "reading PriorityClass "+name)
		g.Expect(pc.Value).To(gomega.Equal(value), "the value of %s", name)
		err = pcs.Delete(ctx, name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "deleting %s must be forbidden (403), got %v", name, err)
		_, err = pcs.Get(ctx, name, metav1.GetOptions{})
		ok(g, err, name+" must still exist after the refused delete")
	}
}

func specPriorityClassResolves(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pc := e.createPriorityClass(ctx, g, "never", 4242, ptr.To(corev1.PreemptNever))
	p := pod("with-class")
	p.Spec.PriorityClassName = pc.Name
	created, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	ok(g, err, "creating a Pod naming PriorityClass "+pc.Name)
	g.Expect(created.Spec.Priority).NotTo(gomega.BeNil(), "spec.priority of the created Pod")
	g.Expect(*created.Spec.Priority).To(gomega.Equal(int32(4242)), "spec.priority of the created Pod")
	g.Expect(created.Spec.PreemptionPolicy).NotTo(gomega.BeNil(), "spec.preemptionPolicy of the created Pod")
	g.Expect(*created.Spec.PreemptionPolicy).To(gomega.Equal(corev1.PreemptNever), "spec.preemptionPolicy of the created Pod")
	// A later update that leaves them out keeps them.
	patched, err := e.client.CoreV1().Pods(e.ns).Patch(ctx, p.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"touched":"yes"}}}`), metav1.PatchOptions{})
	ok(g, err, "labelling the Pod")
	g.Expect(patched.Spec.Priority).To(gomega.Equal(ptr.To(int32(4242))), "spec.priority after an update")
}

func specPriorityClassUnknown(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("unknown-class")
	p.Spec.PriorityClassName = e.ns + "-does-not-exist"
	_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "a Pod naming an unknown PriorityClass must be refused with 403, got %v", err)
	expectNoPod(ctx, g, e, p.Name)
}

func specPriorityMismatch(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pc := e.createPriorityClass(ctx, g, "mid", 1000, nil)
	p := pod("mismatch")
	p.Spec.PriorityClassName = pc.Name
	p.Spec.Priority = ptr.To(int32(7))
	_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "a Pod whose spec.priority differs from its class's must be refused with 403, got %v", err)
	expectNoPod(ctx, g, e, p.Name)
}

func specPriorityClassValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pcs := e.client.SchedulingV1().PriorityClasses()
	_, err := pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-too-high"}, Value: 1000000001}, metav1.CreateOptions{})
	expectInvalid(g, err, "creating a user PriorityClass above 1000000000", "value")
	_, err = pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-" + e.ns}, Value: 10}, metav1.CreateOptions{})
	expectInvalid(g, err, "creating a PriorityClass with the system- prefix", "metadata.name")
	pc := e.createPriorityClass(ctx, g, "fixed", 10, nil)
	pc.Value = 11
	_, err = pcs.Update(ctx, pc, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing a PriorityClass's value", "value")
}
