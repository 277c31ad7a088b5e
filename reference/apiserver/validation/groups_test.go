package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	fI, fR, fN, fF = field.ErrorTypeInvalid, field.ErrorTypeRequired, field.ErrorTypeNotSupported, field.ErrorTypeForbidden
)

func TestValidatePriorityClass(t *testing.T) {
	base := func() *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}
	}
	runCreateCases(t, base, []mutCase[*schedulingv1.PriorityClass]{
		{"above the user maximum", func(p *schedulingv1.PriorityClass) { p.Value = HighestUserDefinablePriority + 1 }, []fe{{fF, "value"}}},
		{"reserved prefix", func(p *schedulingv1.PriorityClass) { p.Name = "system-mine" }, []fe{{fF, "metadata.name"}}},
		{"system class with its value", func(p *schedulingv1.PriorityClass) { p.Name, p.Value = SystemClusterCritical, SystemCriticalPriority }, nil},
		{"system class with another value", func(p *schedulingv1.PriorityClass) { p.Name = SystemNodeCritical }, []fe{{fF, "metadata.name"}}},
		{"bad preemption policy", func(p *schedulingv1.PriorityClass) { p.PreemptionPolicy = ptrTo(corev1.PreemptionPolicy("Sometimes")) }, []fe{{fN, "preemptionPolicy"}}},
	})
	old := defaulted(base())
	old.ResourceVersion = "1"
	n := old.DeepCopy()
	n.Value, n.PreemptionPolicy = 5, ptrTo(corev1.PreemptNever)
	assertErrors(t, ValidateUpdate(n, old), fe{fF, "value"}, fe{fI, "preemptionPolicy"})
}

func TestValidatePodDisruptionBudget(t *testing.T) {
	base := func() *policyv1.PodDisruptionBudget {
		one := intstr.FromInt32(1)
		return &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("web"), Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	}
	runCreateCases(t, base, []mutCase[*policyv1.PodDisruptionBudget]{
		{"both set", func(p *policyv1.PodDisruptionBudget) { p.Spec.MaxUnavailable = ptrTo(intstr.FromInt32(1)) }, []fe{{fI, "spec"}}},
		{"over 100%", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ptrTo(intstr.FromString("101%")) }, []fe{{fI, "spec.minAvailable"}}},
		{"negative", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ptrTo(intstr.FromInt32(-1)) }, []fe{{fI, "spec.minAvailable"}}},
		{"bad policy", func(p *policyv1.PodDisruptionBudget) {
			p.Spec.UnhealthyPodEvictionPolicy = ptrTo(policyv1.UnhealthyPodEvictionPolicyType("Never"))
		}, []fe{{fN, "spec.unhealthyPodEvictionPolicy"}}},
	})
	old := defaulted(base())
	n := old.DeepCopy()
	n.Status.DisruptionsAllowed = -1
	assertErrors(t, ValidateStatusUpdate(n, old), fe{fI, "status.disruptionsAllowed"})
}

func validStatefulSet() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: objMeta("db"), Spec: appsv1.StatefulSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: podTemplate()}}
}

func TestValidateStatefulSet(t *testing.T) {
	runCreateCases(t, validStatefulSet, []mutCase[*appsv1.StatefulSet]{
		{"bad pod management", func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Sometimes" }, []fe{{fN, "spec.podManagementPolicy"}}},
		{"rollingUpdate with OnDelete", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType }, []fe{{fI, "spec.updateStrategy.rollingUpdate"}}},
		{"negative partition", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptrTo(int32(-1)) }, []fe{{fI, "spec.updateStrategy.rollingUpdate.partition"}}},
		{"labels do not match", func(s *appsv1.StatefulSet) { s.Spec.Template.Labels = map[string]string{"x": "y"} }, []fe{{fI, "spec.template.metadata.labels"}}},
		{"bad retention", func(s *appsv1.StatefulSet) { s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = "Keep" }, []fe{{fN, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"}}},
	})
	old := defaulted(validStatefulSet())
	n := old.DeepCopy()
	n.Spec.ServiceName = "other"
	assertErrors(t, ValidateUpdate(n, old), fe{fF, "spec"})
	n = old.DeepCopy()
	n.Spec.Replicas = ptrTo(int32(5))
	assertErrors(t, ValidateUpdate(n, old))
}

func TestValidateDaemonSetAndJob(t *testing.T) {
	ds := func() *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: objMeta("agent"), Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: podTemplate()}}
	}
	runCreateCases(t, ds, []mutCase[*appsv1.DaemonSet]{
		{"both zero", func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromInt32(0))
		}, []fe{{fI, "spec.updateStrategy.rollingUpdate.maxUnavailable"}}},
		{"bad type", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = "Blue" }, []fe{{fN, "spec.updateStrategy.type"}}},
	})
	job := func() *batchv1.Job {
		tmpl := podTemplate()
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		j := &batchv1.Job{ObjectMeta: objMeta("once"), Spec: batchv1.JobSpec{Template: tmpl}}
		j.UID = "uid-1"
		JobKind().PrepareForCreate(j)
		return j
	}
	runCreateCases(t, job, []mutCase[*batchv1.Job]{
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }, []fe{{fN, "spec.template.spec.restartPolicy"}}},
		{"foreign selector", func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["app"] = "web" }, []fe{{fI, "spec.selector"}}},
		{"negative backoffLimit", func(j *batchv1.Job) { j.Spec.BackoffLimit = ptrTo(int32(-1)) }, []fe{{fI, "spec.backoffLimit"}}},
		{"indexed without completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode, j.Spec.Completions = ptrTo(batchv1.IndexedCompletion), nil
		}, []fe{{fR, "spec.completions"}}},
	})
	cj := func() *batchv1.CronJob {
		return &batchv1.CronJob{ObjectMeta: objMeta("nightly"), Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: job().Spec}}}
	}
	runCreateCases(t, cj, []mutCase[*batchv1.CronJob]{
		{"bad schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "every day" }, []fe{{fI, "spec.schedule"}}},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 3 * * *" }, []fe{{fI, "spec.schedule"}}},
		{"bad concurrency", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" }, []fe{{fN, "spec.concurrencyPolicy"}}},
	})
}

func TestValidateRuntimeClassAndFlowControl(t *testing.T) {
	rc := func() *nodev1.RuntimeClass {
		return &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc"}
	}
	runCreateCases(t, rc, []mutCase[*nodev1.RuntimeClass]{
		{"bad handler", func(r *nodev1.RuntimeClass) { r.Handler = "Run_SC" }, []fe{{fI, "handler"}}},
	})
	for _, fs := range MandatoryFlowSchemas() {
		assertErrors(t, ValidateCreate(defaulted(fs)))
	}
	for _, pl := range MandatoryPriorityLevelConfigurations() {
		assertErrors(t, ValidateCreate(defaulted(pl)))
	}
	fs := func() *flowcontrolv1.FlowSchema {
		return &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "mine"}, Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "catch-all"}}}
	}
	runCreateCases(t, fs, []mutCase[*flowcontrolv1.FlowSchema]{
		{"precedence too high", func(f *flowcontrolv1.FlowSchema) { f.Spec.MatchingPrecedence = 10001 }, []fe{{fI, "spec.matchingPrecedence"}}},
		{"no level", func(f *flowcontrolv1.FlowSchema) { f.Spec.PriorityLevelConfiguration.Name = "" }, []fe{{fR, "spec.priorityLevelConfiguration.name"}}},
	})
}
