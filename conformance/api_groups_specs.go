package conformance

import (
	"context"
	"time"

	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	svmv1 "k8s.io/api/storagemigration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Sources of the behaviours of the other built-in groups.
const (
	srcPriority      = "Kubernetes: Pod Priority and Preemption (kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption)"
	srcPriorityAPI   = "Kubernetes PriorityClass API validation (pkg/apis/scheduling/validation)"
	srcPriorityAdmit = "Kubernetes admission controllers: Priority (kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#priority)"
)

// Sources of the policy behaviours.
const (
	srcPDBAPI   = "Kubernetes PodDisruptionBudget API validation (pkg/apis/policy/validation)"
	srcEviction = "Kubernetes: API-initiated Eviction (kubernetes.io/docs/concepts/scheduling-eviction/api-eviction)"
)

// Sources of the workload, node and flow-control behaviours.
const (
	srcAppsValidation = "Kubernetes apps/v1 API validation (pkg/apis/apps/validation: StatefulSet, DaemonSet, ControllerRevision)"
	srcBatchAPI       = "Kubernetes batch/v1 API (pkg/apis/batch/validation, pkg/registry/batch/job/strategy.go)"
	srcRuntimeClass   = "Kubernetes: Runtime Class (kubernetes.io/docs/concepts/containers/runtime-class), pkg/apis/node/validation"
	srcAPF            = "Kubernetes: API Priority and Fairness, mandatory configuration objects (kubernetes.io/docs/concepts/cluster-administration/flow-control)"
)

// srcCSR is the source of the CertificateSigningRequest behaviours.
const srcCSR = "Kubernetes: Certificates and Certificate Signing Requests (kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests), pkg/registry/certificates"

// apiGroupSpecs are the API specs of scheduling.k8s.io, policy, batch, node.k8s.io,
// certificates.k8s.io and flowcontrol.apiserver.k8s.io.
func apiGroupSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.priorityclass.system-classes", "the PriorityClasses system-cluster-critical (2000000000) and system-node-critical (2000001000) MUST exist, and deleting either MUST fail with 403 and leave it in place", srcPriority), specSystemPriorityClasses},
		{api("api.priorityclass.resolves", "a Pod naming a PriorityClass MUST be created with that class's value as spec.priority and its preemptionPolicy as spec.preemptionPolicy", srcPriorityAdmit), specPriorityClassResolves},
		{api("api.priorityclass.unknown-class", "creating a Pod naming a PriorityClass that does not exist MUST fail with 403 Forbidden, and store nothing", srcPriorityAdmit), specPriorityClassUnknown},
		{api("api.priorityclass.priority-mismatch", "creating a Pod whose spec.priority differs from the value of the PriorityClass it names MUST fail with 403 Forbidden, and store nothing", srcPriorityAdmit), specPriorityMismatch},
		{api("api.pdb.validation", "a PodDisruptionBudget setting both minAvailable and maxUnavailable, or a percentage above 100%, MUST be rejected with 422 naming spec or the offending field, and store nothing", srcPDBAPI), specPDBValidation},
		{api("api.eviction.pdb-blocks", "evicting a running Pod covered by a PodDisruptionBudget whose status allows no disruption MUST fail with 429 TooManyRequests, and the Pod MUST stay without a deletionTimestamp", srcEviction), specEvictionBlocked},
		{api("api.eviction.pdb-allows", "evicting a running Pod whose PodDisruptionBudget allows one disruption MUST succeed, delete the Pod and leave the budget with disruptionsAllowed 0", srcEviction), specEvictionAllowed},
		{api("api.statefulset.validation", "a StatefulSet with an unknown podManagementPolicy MUST be rejected with 422 naming spec.podManagementPolicy, and an update of its selector MUST be rejected with 422 naming spec", srcAppsValidation), specStatefulSetValidation},
		{api("api.statefulset.scale", "the scale subresource MUST read and change only spec.replicas of a StatefulSet", srcAPIConcepts), specStatefulSetScale},
		{api("api.daemonset.validation", "a DaemonSet whose rolling update has maxUnavailable 0 and maxSurge 0 MUST be rejected with 422 naming spec.updateStrategy.rollingUpdate.maxUnavailable", srcAppsValidation), specDaemonSetValidation},
		{api("api.controllerrevision.data-immutable", "an update that changes a ControllerRevision's data MUST be rejected with 422 naming data", srcAppsValidation), specControllerRevisionImmutable},
		{api("api.job.generated-selector", "a Job created without a selector MUST get one generated from its uid, with the pod template labelled batch.kubernetes.io/controller-uid and batch.kubernetes.io/job-name", srcBatchAPI), specJobGeneratedSelector},
		{api("api.job.validation", "a Job whose pod template has restartPolicy Always MUST be rejected with 422 naming spec.template.spec.restartPolicy", srcBatchAPI), specJobValidation},
		{api("api.cronjob.validation", "a CronJob with an unparseable schedule MUST be rejected with 422 naming spec.schedule, and a valid one MUST get concurrencyPolicy Allow and history limits 3 and 1", srcBatchAPI), specCronJobValidation},
		{api("api.runtimeclass.validation", "a RuntimeClass whose handler is not a DNS-1123 label MUST be rejected with 422 naming handler, and an update of its handler MUST be rejected with 422 naming handler", srcRuntimeClass), specRuntimeClassValidation},
		{api("api.flowcontrol.mandatory", "the FlowSchemas and PriorityLevelConfigurations exempt and catch-all MUST exist, the exempt level of type Exempt and the catch-all level of type Limited", srcAPF), specFlowControlMandatory},
		{api("api.storagemigration.spec-immutable", "a StorageVersionMigration without spec.resource.resource MUST be rejected with 422 naming it, and a change of a created one's spec MUST be rejected with 422 naming spec", srcStorageMigration), specStorageMigrationImmutable},
		{api("api.storagemigration.conditions", "a StorageVersionMigration's Succeeded and Failed conditions MUST NOT both be true, and a Succeeded condition that is true MUST NOT be set false again (422 naming status.conditions)", srcStorageMigration), specStorageMigrationConditions},
		{api("api.csr.requester", "a created CertificateSigningRequest MUST carry its requester's username and groups in spec.username and spec.groups, whatever the client sent", srcCSR), specCSRRequester},
		{api("api.csr.approval", "an Approved condition MUST be set through the approval subresource and MUST NOT be set by a write of the status subresource", srcCSR), specCSRApproval},
		{api("api.csr.status-keeps-order", "a status write that appends a condition to an approved CertificateSigningRequest MUST keep the Approved condition where it was and return the appended one last", srcCSR), specCSRStatusKeepsOrder},
		{api("api.csr.validation", "a CertificateSigningRequest whose request is not a PEM CERTIFICATE REQUEST, or that names no signerName, MUST be rejected with 422 naming spec.request or spec.signerName", srcCSR), specCSRValidation},
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

// runningReadyPod creates a Pod and marks it Running and Ready through pods/status (no
// scheduler or kubelet touches it), so that an eviction consults its budget.
func (e *apiEnv) runningReadyPod(ctx context.Context, g gomega.Gomega, name string) *corev1.Pod {
	created, err := e.client.CoreV1().Pods(e.ns).Create(ctx, pod(name), metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating Pod %s", name)
	now := metav1.Now()
	created.Status.Phase = corev1.PodRunning
	created.Status.StartTime = &now
	created.Status.Conditions = append(created.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now})
	running, err := e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "marking Pod %s Running and Ready", name)
	return running
}

// budget creates a PodDisruptionBudget selecting app=<app> with the given minAvailable and
// writes the status a disruption controller computes for one healthy pod (allowed disruptions),
// observed at the budget's generation.
func (e *apiEnv) budget(ctx context.Context, g gomega.Gomega, app string, minAvailable, allowed int32) {
	pdbs := e.client.PolicyV1().PodDisruptionBudgets(e.ns)
	min := intstr.FromInt32(minAvailable)
	created, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &min, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
	}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating PodDisruptionBudget %s", app)
	// A disruption controller may write the same status first: retry on conflict.
	g.EventuallyWithOffset(1, func() error {
		cur, err := pdbs.Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.Status.ObservedGeneration == cur.Generation && cur.Status.DisruptionsAllowed == allowed && cur.Status.CurrentHealthy == 1 {
			return nil
		}
		cur.Status.ObservedGeneration = cur.Generation
		cur.Status.ExpectedPods, cur.Status.CurrentHealthy, cur.Status.DesiredHealthy = 1, 1, minAvailable
		cur.Status.DisruptionsAllowed = allowed
		_, err = pdbs.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(20*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "writing the status of PodDisruptionBudget %s", app)
}

func evict(ctx context.Context, e *apiEnv, name string) error {
	return e.client.CoreV1().Pods(e.ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}})
}

func specPDBValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pdbs := e.client.PolicyV1().PodDisruptionBudgets(e.ns)
	one, pct := intstr.FromInt32(1), intstr.FromString("150%")
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
	_, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "both"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, MaxUnavailable: &one, Selector: sel}}, metav1.CreateOptions{})
	expectInvalid(g, err, "a budget with both minAvailable and maxUnavailable", "spec")
	_, err = pdbs.Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "over"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &pct, Selector: sel}}, metav1.CreateOptions{})
	expectInvalid(g, err, "a budget with minAvailable 150%", "spec.minAvailable")
	for _, name := range []string{"both", "over"} {
		_, err := pdbs.Get(ctx, name, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a rejected budget %s must not be stored (Get returned %v)", name, err)
	}
}

func specEvictionBlocked(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	e.runningReadyPod(ctx, g, "guarded")
	e.budget(ctx, g, "guarded", 1, 0)
	err := evict(ctx, e, "guarded")
	g.Expect(apierrors.IsTooManyRequests(err)).To(gomega.BeTrue(), "evicting a Pod whose budget allows no disruption must be 429, got %v", err)
	got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "guarded", metav1.GetOptions{})
	ok(g, err, "the Pod must still exist after a refused eviction")
	g.Expect(got.DeletionTimestamp).To(gomega.BeNil(), "a refused eviction must not start deleting the Pod")
}

func specEvictionAllowed(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	e.runningReadyPod(ctx, g, "spare")
	e.budget(ctx, g, "spare", 0, 1)
	ok(g, evict(ctx, e, "spare"), "evicting a Pod whose budget allows a disruption")
	g.Eventually(func() bool {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "spare", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)
	}).WithContext(ctx).WithTimeout(20*time.Second).WithPolling(200*time.Millisecond).Should(gomega.BeTrue(), "the evicted Pod must be deleted")
	pdb, err := e.client.PolicyV1().PodDisruptionBudgets(e.ns).Get(ctx, "spare", metav1.GetOptions{})
	ok(g, err, "reading the budget after the eviction")
	g.Expect(pdb.Status.DisruptionsAllowed).To(gomega.Equal(int32(0)), "the eviction must take the budget's one allowed disruption")
}

func statefulSet(name string) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}},
			},
		},
	}
}

func specStatefulSetValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	sets := e.client.AppsV1().StatefulSets(e.ns)
	bad := statefulSet("bad-policy")
	bad.Spec.PodManagementPolicy = "Sometimes"
	_, err := sets.Create(ctx, bad, metav1.CreateOptions{})
	expectInvalid(g, err, "a StatefulSet with podManagementPolicy Sometimes", "spec.podManagementPolicy")
	created, err := sets.Create(ctx, statefulSet("fixed"), metav1.CreateOptions{})
	ok(g, err, "creating a StatefulSet")
	created.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "fixed", "more": "x"}}
	created.Spec.Template.Labels["more"] = "x"
	_, err = sets.Update(ctx, created, metav1.UpdateOptions{})
	expectInvalidUnder(g, err, "changing a StatefulSet's selector", "spec")
}

func specStatefulSetScale(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	sets := e.client.AppsV1().StatefulSets(e.ns)
	_, err := sets.Create(ctx, statefulSet("scaled"), metav1.CreateOptions{})
	ok(g, err, "creating a StatefulSet")
	sc, err := sets.GetScale(ctx, "scaled", metav1.GetOptions{})
	ok(g, err, "reading the scale")
	g.Expect(sc.Spec.Replicas).To(gomega.Equal(int32(1)), "the scale of a StatefulSet created without replicas")
	sc.Spec.Replicas = 3
	_, err = sets.UpdateScale(ctx, "scaled", sc, metav1.UpdateOptions{})
	ok(g, err, "writing the scale")
	got, err := sets.Get(ctx, "scaled", metav1.GetOptions{})
	ok(g, err, "reading the StatefulSet")
	g.Expect(*got.Spec.Replicas).To(gomega.Equal(int32(3)), "spec.replicas after the scale write")
	g.Expect(got.Spec.Template.Spec.Containers[0].Image).To(gomega.Equal("registry.example/app:1.0"), "the template must not change")
}

func specDaemonSetValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	labels := map[string]string{"app": "ds"}
	zero := intstr.FromInt32(0)
	_, err := e.client.AppsV1().DaemonSets(e.ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}}},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &zero, MaxSurge: &zero}},
		},
	}, metav1.CreateOptions{})
	expectInvalid(g, err, "a DaemonSet with maxUnavailable 0 and maxSurge 0", "spec.updateStrategy.rollingUpdate.maxUnavailable")
}

func specControllerRevisionImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	revs := e.client.AppsV1().ControllerRevisions(e.ns)
	created, err := revs.Create(ctx, &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "rev-1"},
		Data: runtime.RawExtension{Raw: []byte(`{"a":1}`)}, Revision: 1}, metav1.CreateOptions{})
	ok(g, err, "creating a ControllerRevision")
	created.Data = runtime.RawExtension{Raw: []byte(`{"a":2}`)}
	_, err = revs.Update(ctx, created, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing a ControllerRevision's data", "data")
}

func job(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Suspend: ptr.To(true),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, SchedulerName: unscheduled,
				Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}}},
		},
	}
}

func specJobGeneratedSelector(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	created, err := e.client.BatchV1().Jobs(e.ns).Create(ctx, job("generated"), metav1.CreateOptions{})
	ok(g, err, "creating a Job without a selector")
	g.Expect(created.Spec.Selector).NotTo(gomega.BeNil(), "the generated selector")
	g.Expect(created.Spec.Selector.MatchLabels).To(gomega.HaveKeyWithValue("batch.kubernetes.io/controller-uid", string(created.UID)), "the generated selector")
	g.Expect(created.Spec.Template.Labels).To(gomega.HaveKeyWithValue("batch.kubernetes.io/controller-uid", string(created.UID)), "the template labels")
	g.Expect(created.Spec.Template.Labels).To(gomega.HaveKeyWithValue("batch.kubernetes.io/job-name", "generated"), "the template labels")
}

func specJobValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	j := job("always")
	j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
	_, err := e.client.BatchV1().Jobs(e.ns).Create(ctx, j, metav1.CreateOptions{})
	expectInvalid(g, err, "a Job with restartPolicy Always", "spec.template.spec.restartPolicy")
}

func specCronJobValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cronJobs := e.client.BatchV1().CronJobs(e.ns)
	mk := func(name, schedule string) *batchv1.CronJob {
		return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.CronJobSpec{Schedule: schedule, Suspend: ptr.To(true), JobTemplate: batchv1.JobTemplateSpec{Spec: job("x").Spec}}}
	}
	_, err := cronJobs.Create(ctx, mk("bad-schedule", "every tuesday"), metav1.CreateOptions{})
	expectInvalid(g, err, "a CronJob with schedule 'every tuesday'", "spec.schedule")
	created, err := cronJobs.Create(ctx, mk("nightly", "0 3 * * *"), metav1.CreateOptions{})
	ok(g, err, "creating a CronJob")
	g.Expect(created.Spec.ConcurrencyPolicy).To(gomega.Equal(batchv1.AllowConcurrent), "the default concurrencyPolicy")
	g.Expect(created.Spec.SuccessfulJobsHistoryLimit).To(gomega.Equal(ptr.To(int32(3))), "the default successfulJobsHistoryLimit")
	g.Expect(created.Spec.FailedJobsHistoryLimit).To(gomega.Equal(ptr.To(int32(1))), "the default failedJobsHistoryLimit")
}

func specRuntimeClassValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rcs := e.client.NodeV1().RuntimeClasses()
	_, err := rcs.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-bad"}, Handler: "Not_A_Label"}, metav1.CreateOptions{})
	expectInvalid(g, err, "a RuntimeClass with handler Not_A_Label", "handler")
	name := e.ns + "-runc"
	created, err := rcs.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: "runc"}, metav1.CreateOptions{})
	ok(g, err, "creating a RuntimeClass")
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rcs.Delete(cctx, name, metav1.DeleteOptions{})
	})
	created.Handler = "crun"
	_, err = rcs.Update(ctx, created, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing a RuntimeClass's handler", "handler")
}

func specFlowControlMandatory(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	fc := e.client.FlowcontrolV1()
	for _, name := range []string{"exempt", "catch-all"} {
		_, err := fc.FlowSchemas().Get(ctx, name, metav1.GetOptions{})
		ok(g, err, "reading FlowSchema "+name)
	}
	exempt, err := fc.PriorityLevelConfigurations().Get(ctx, "exempt", metav1.GetOptions{})
	ok(g, err, "reading PriorityLevelConfiguration exempt")
	g.Expect(exempt.Spec.Type).To(gomega.Equal(flowcontrolv1.PriorityLevelEnablementExempt), "the type of the exempt level")
	catchAll, err := fc.PriorityLevelConfigurations().Get(ctx, "catch-all", metav1.GetOptions{})
	ok(g, err, "reading PriorityLevelConfiguration catch-all")
	g.Expect(catchAll.Spec.Type).To(gomega.Equal(flowcontrolv1.PriorityLevelEnablementLimited), "the type of the catch-all level")
}

// csrPEM returns a fresh PEM-encoded certificate request for common name cn.
func csrPEM(g gomega.Gomega, cn string) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ok(g, err, "generating a key")
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	ok(g, err, "creating a certificate request")
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// createCSR creates a CertificateSigningRequest of the spec's own for a signer no controller
// serves, deleted when the spec ends.
func (e *apiEnv) createCSR(ctx context.Context, g gomega.Gomega, suffix string, mutate func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-" + suffix},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM(g, e.ns), SignerName: "example.com/clusterkit-conformance",
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}},
	}
	if mutate != nil {
		mutate(csr)
	}
	created, err := e.client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating CertificateSigningRequest %s", csr.Name)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.client.CertificatesV1().CertificateSigningRequests().Delete(cctx, csr.Name, metav1.DeleteOptions{})
	})
	return created
}

func specCSRRequester(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	me, err := e.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	ok(g, err, "asking who the spec's client is (SelfSubjectReview)")
	created := e.createCSR(ctx, g, "requester", func(c *certificatesv1.CertificateSigningRequest) {
		c.Spec.Username, c.Spec.Groups = "mallory", []string{"system:masters"}
	})
	g.Expect(created.Spec.Username).To(gomega.Equal(me.Status.UserInfo.Username), "spec.username must be the requester's")
	g.Expect(created.Spec.Groups).To(gomega.ConsistOf(me.Status.UserInfo.Groups), "spec.groups must be the requester's")
}

func specCSRApproval(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	csrs := e.client.CertificatesV1().CertificateSigningRequests()
	created := e.createCSR(ctx, g, "approval", nil)
	approved := func(c *certificatesv1.CertificateSigningRequest) bool {
		for _, cond := range c.Status.Conditions {
			if cond.Type == certificatesv1.CertificateApproved && cond.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}
	cond := certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: "ConformanceApproved", Message: "approved by the conformance suite", LastUpdateTime: metav1.Now()}
	viaStatus := created.DeepCopy()
	viaStatus.Status.Conditions = append(viaStatus.Status.Conditions, cond)
	after, err := csrs.UpdateStatus(ctx, viaStatus, metav1.UpdateOptions{})
	if err == nil {
		g.Expect(approved(after)).To(gomega.BeFalse(), "a status write must not approve a CertificateSigningRequest")
	}
	got, err := csrs.Get(ctx, created.Name, metav1.GetOptions{})
	ok(g, err, "reading the CertificateSigningRequest")
	g.Expect(approved(got)).To(gomega.BeFalse(), "a status write must not approve a CertificateSigningRequest")
	got.Status.Conditions = append(got.Status.Conditions, cond)
	_, err = csrs.UpdateApproval(ctx, got.Name, got, metav1.UpdateOptions{})
	ok(g, err, "approving through the approval subresource")
	got, err = csrs.Get(ctx, created.Name, metav1.GetOptions{})
	ok(g, err, "reading the approved CertificateSigningRequest")
	g.Expect(approved(got)).To(gomega.BeTrue(), "the approval subresource must set the Approved condition")
}

func specCSRStatusKeepsOrder(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	csrs := e.client.CertificatesV1().CertificateSigningRequests()
	created := e.createCSR(ctx, g, "order", nil)
	created.Status.Conditions = append(created.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "ConformanceApproved", Message: "approved by the conformance suite"})
	approved, err := csrs.UpdateApproval(ctx, created.Name, created, metav1.UpdateOptions{})
	ok(g, err, "approving through the approval subresource")
	approved.Status.Conditions = append(approved.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: "ConformanceChecked", Status: corev1.ConditionTrue, Reason: "Checked", Message: "appended by a status write"})
	after, err := csrs.UpdateStatus(ctx, approved, metav1.UpdateOptions{})
	ok(g, err, "appending a condition through the status subresource")
	var types []string
	for _, c := range after.Status.Conditions {
		types = append(types, string(c.Type))
	}
	g.Expect(types).To(gomega.Equal([]string{string(certificatesv1.CertificateApproved), "ConformanceChecked"}), "the conditions after the status write")
}

func specCSRValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	csrs := e.client.CertificatesV1().CertificateSigningRequests()
	_, err := csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-not-pem"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: []byte("not a request"), SignerName: "example.com/clusterkit-conformance",
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}, metav1.CreateOptions{})
	expectInvalidUnder(g, err, "a CertificateSigningRequest whose request is not PEM", "spec.request")
	_, err = csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-no-signer"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM(g, e.ns), Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}, metav1.CreateOptions{})
	expectInvalidUnder(g, err, "a CertificateSigningRequest without signerName", "spec.signerName")
}

// srcStorageMigration is the source of the StorageVersionMigration behaviours.
const srcStorageMigration = "Kubernetes: Migrate Kubernetes Objects Using Storage Version Migration (kubernetes.io/docs/tasks/manage-kubernetes-objects/storage-version-migration); StorageVersionMigration v1 API reference"

func newStorageMigration(ctx context.Context, g gomega.Gomega, e *apiEnv, suffix string) *svmv1.StorageVersionMigration {
	svms := e.client.StoragemigrationV1().StorageVersionMigrations()
	name := e.ns + "-" + suffix
	created, err := svms.Create(ctx, &svmv1.StorageVersionMigration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       svmv1.StorageVersionMigrationSpec{Resource: metav1.GroupResource{Group: "apps", Resource: "deployments"}},
	}, metav1.CreateOptions{})
	ok(g, err, "creating a StorageVersionMigration of deployments.apps")
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svms.Delete(cctx, name, metav1.DeleteOptions{})
	})
	return created
}

func specStorageMigrationImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	svms := e.client.StoragemigrationV1().StorageVersionMigrations()
	_, err := svms.Create(ctx, &svmv1.StorageVersionMigration{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-empty"}}, metav1.CreateOptions{})
	expectInvalid(g, err, "a StorageVersionMigration without spec.resource.resource", "spec.resource.resource")
	created := newStorageMigration(ctx, g, e, "deploy")
	created.Spec.Resource.Resource = "replicasets"
	_, err = svms.Update(ctx, created, metav1.UpdateOptions{})
	expectInvalidUnder(g, err, "changing a StorageVersionMigration's spec.resource", "spec")
}

func specStorageMigrationConditions(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	svms := e.client.StoragemigrationV1().StorageVersionMigrations()
	created := newStorageMigration(ctx, g, e, "conds")
	cond := func(t svmv1.MigrationConditionType, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: string(t), Status: s, Reason: "Conformance", Message: "set by a conformance spec", LastTransitionTime: metav1.Now()}
	}
	// A migration controller may write the status meanwhile: every write starts from a fresh
	// read and a conflict is retried.
	latest := func() *svmv1.StorageVersionMigration {
		got, err := svms.Get(ctx, created.Name, metav1.GetOptions{})
		ok(g, err, "reading the StorageVersionMigration")
		return got
	}
	var err error
	for range 5 {
		both := latest()
		both.Status.Conditions = []metav1.Condition{cond(svmv1.MigrationSucceeded, metav1.ConditionTrue), cond(svmv1.MigrationFailed, metav1.ConditionTrue)}
		if _, err = svms.UpdateStatus(ctx, both, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
			break
		}
	}
	expectInvalid(g, err, "a status with Succeeded and Failed both true", "status.conditions")

	g.Eventually(func() error {
		cur := latest()
		if meta.IsStatusConditionTrue(cur.Status.Conditions, string(svmv1.MigrationSucceeded)) {
			return nil // a migration controller finished it
		}
		cur.Status.Conditions = []metav1.Condition{cond(svmv1.MigrationSucceeded, metav1.ConditionTrue)}
		_, err := svms.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(20*time.Second).Should(gomega.Succeed(), "setting Succeeded=True")
	done := latest()
	for i := range done.Status.Conditions {
		if done.Status.Conditions[i].Type == string(svmv1.MigrationSucceeded) {
			done.Status.Conditions[i].Status = metav1.ConditionFalse
		}
	}
	_, err = svms.UpdateStatus(ctx, done, metav1.UpdateOptions{})
	expectInvalid(g, err, "setting a true Succeeded condition back to False", "status.conditions")
}
