package validation

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The labels kube-apiserver puts on a Job's pod template and selector.
const (
	JobControllerUIDLabel       = "batch.kubernetes.io/controller-uid"
	jobLegacyControllerUIDLabel = "controller-uid"
	JobNameLabel                = "batch.kubernetes.io/job-name"
	jobLegacyNameLabel          = "job-name"
	// maxCronJobNameLength leaves room for the Job names a CronJob makes (11 characters).
	maxCronJobNameLength = 52
)

var (
	supportedJobRestartPolicies = []string{string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}
	supportedCompletionModes    = []string{string(batchv1.NonIndexedCompletion), string(batchv1.IndexedCompletion)}
	supportedConcurrency        = []string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}
)

// JobKind is the strategy of batch/v1 Job: unless spec.manualSelector, the server generates the
// selector and the template labels from the Job's uid and name.
func JobKind() *Kind[*batchv1.Job] {
	return &Kind[*batchv1.Job]{
		Defaults: defaultJob,
		Create:   validateJob,
		Update:   validateJobUpdate,
		Status:   func(n, _ *batchv1.Job) field.ErrorList { return validateJobStatus(n) },
		PrepareCreate: func(j *batchv1.Job) {
			j.Status = batchv1.JobStatus{}
			if j.Spec.ManualSelector == nil || !*j.Spec.ManualSelector {
				generateJobSelector(j)
			}
		},
	}
}

// defaultJob: completions and parallelism 1 when neither is set, parallelism 1, backoffLimit 6,
// NonIndexed, not suspended, no manual selector, the podReplacementPolicy of the failure policy,
// the template's labels as the Job's when it has none, and the pod template defaults.
func defaultJob(j *batchv1.Job) {
	defaultJobSpec(&j.Spec)
	if len(j.Labels) == 0 && len(j.Spec.Template.Labels) > 0 {
		j.Labels = map[string]string{}
		for k, v := range j.Spec.Template.Labels {
			j.Labels[k] = v
		}
	}
}

func defaultJobSpec(spec *batchv1.JobSpec) {
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptrTo(int32(1))
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptrTo(int32(1))
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptrTo(int32(1<<31 - 1))
		} else {
			spec.BackoffLimit = ptrTo(int32(6))
		}
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = ptrTo(false)
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptrTo(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		}
	}
	defaultPodSpec(&spec.Template.Spec)
}

// generateJobSelector labels the template with the Job's uid and name and selects the uid.
func generateJobSelector(j *batchv1.Job) {
	uid := string(j.UID)
	if j.Spec.Template.Labels == nil {
		j.Spec.Template.Labels = map[string]string{}
	}
	for k, v := range map[string]string{
		JobControllerUIDLabel: uid, jobLegacyControllerUIDLabel: uid, JobNameLabel: j.Name, jobLegacyNameLabel: j.Name,
	} {
		if _, ok := j.Spec.Template.Labels[k]; !ok {
			j.Spec.Template.Labels[k] = v
		}
	}
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[JobControllerUIDLabel]; !ok {
		j.Spec.Selector.MatchLabels[JobControllerUIDLabel] = uid
	}
}

func validateJob(j *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	if j.Spec.ManualSelector == nil || !*j.Spec.ManualSelector {
		want := &metav1.LabelSelector{MatchLabels: map[string]string{JobControllerUIDLabel: string(j.UID)}}
		if j.Spec.Selector != nil && (len(j.Spec.Selector.MatchExpressions) > 0 || len(j.Spec.Selector.MatchLabels) != 1 ||
			j.Spec.Selector.MatchLabels[JobControllerUIDLabel] != want.MatchLabels[JobControllerUIDLabel]) {
			errs = append(errs, field.Invalid(specPath.Child("selector"), j.Spec.Selector, "`selector` not auto-generated"))
		}
	}
	return append(errs, validateJobSpec(&j.Spec, specPath, true)...)
}

// validateJobSpec checks a Job's spec (or a CronJob's job template, whose selector is
// generated later and so not required).
func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path, selectorRequired bool) field.ErrorList {
	var errs field.ErrorList
	for name, v := range map[string]*int32{"parallelism": spec.Parallelism, "completions": spec.Completions, "backoffLimit": spec.BackoffLimit, "ttlSecondsAfterFinished": spec.TTLSecondsAfterFinished} {
		if v != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*v), fldPath.Child(name))...)
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	if spec.CompletionMode != nil {
		errs = append(errs, validateEnum(*spec.CompletionMode, supportedCompletionModes, fldPath.Child("completionMode"))...)
		if *spec.CompletionMode == batchv1.IndexedCompletion && spec.Completions == nil {
			errs = append(errs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
		}
	}
	tmpl := fldPath.Child("template")
	if spec.Selector == nil {
		if selectorRequired {
			errs = append(errs, field.Required(fldPath.Child("selector"), ""))
		}
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
		if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
			errs = append(errs, field.Invalid(tmpl.Child("metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
		}
	}
	errs = append(errs, validateTemplateMeta(&spec.Template.ObjectMeta, tmpl.Child("metadata"))...)
	errs = append(errs, validatePodSpec(&spec.Template.Spec, tmpl.Child("spec"), podSpecOpts{})...)
	if p := spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyOnFailure && p != corev1.RestartPolicyNever {
		errs = append(errs, field.NotSupported(tmpl.Child("spec", "restartPolicy"), p, supportedJobRestartPolicies))
	}
	return errs
}

// validateJobUpdate: selector, completionMode and the pod template are immutable (the template
// may change only while the Job is suspended and has not started).
func validateJobUpdate(n, o *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.Selector, o.Spec.Selector, specPath.Child("selector"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.CompletionMode, o.Spec.CompletionMode, specPath.Child("completionMode"))...)
	suspendedUnstarted := o.Spec.Suspend != nil && *o.Spec.Suspend && o.Status.StartTime == nil
	if !suspendedUnstarted {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.Template, o.Spec.Template, specPath.Child("template"))...)
	}
	if n.Spec.CompletionMode == nil || *n.Spec.CompletionMode != batchv1.IndexedCompletion {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.Completions, o.Spec.Completions, specPath.Child("completions"))...)
	}
	return errs
}

func validateJobStatus(j *batchv1.Job) field.ErrorList {
	st := &j.Status
	var errs field.ErrorList
	for name, v := range map[string]int32{"active": st.Active, "succeeded": st.Succeeded, "failed": st.Failed} {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(v), statusPath.Child(name))...)
	}
	if st.Ready != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*st.Ready), statusPath.Child("ready"))...)
	}
	return errs
}

// ---- CronJob ----

// CronJobKind is the strategy of batch/v1 CronJob.
func CronJobKind() *Kind[*batchv1.CronJob] {
	return &Kind[*batchv1.CronJob]{
		Defaults:      defaultCronJob,
		Create:        validateCronJob,
		PrepareCreate: func(c *batchv1.CronJob) { c.Status = batchv1.CronJobStatus{} },
	}
}

// defaultCronJob: concurrencyPolicy Allow, not suspended, 3 successful and 1 failed Jobs kept,
// and the job template's defaults.
func defaultCronJob(c *batchv1.CronJob) {
	spec := &c.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptrTo(int32(3))
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptrTo(int32(1))
	}
	defaultJobSpec(&spec.JobTemplate.Spec)
}

func validateCronJob(c *batchv1.CronJob) field.ErrorList {
	var errs field.ErrorList
	if len(c.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(metadataPath.Child("name"), c.Name, fmt.Sprintf("must be no more than %d characters", maxCronJobNameLength)))
	}
	spec := &c.Spec
	sp := specPath.Child("schedule")
	switch {
	case spec.Schedule == "":
		errs = append(errs, field.Required(sp, ""))
	case strings.Contains(spec.Schedule, "TZ"):
		errs = append(errs, field.Invalid(sp, spec.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	default:
		if _, err := cron.ParseStandard(spec.Schedule); err != nil {
			errs = append(errs, field.Invalid(sp, spec.Schedule, err.Error()))
		}
	}
	if spec.TimeZone != nil {
		if _, err := time.LoadLocation(*spec.TimeZone); err != nil || *spec.TimeZone == "" || strings.EqualFold(*spec.TimeZone, "local") {
			errs = append(errs, field.Invalid(specPath.Child("timeZone"), *spec.TimeZone, "unknown time zone "+*spec.TimeZone))
		}
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*spec.StartingDeadlineSeconds, specPath.Child("startingDeadlineSeconds"))...)
	}
	errs = append(errs, validateEnum(spec.ConcurrencyPolicy, supportedConcurrency, specPath.Child("concurrencyPolicy"))...)
	for name, v := range map[string]*int32{"successfulJobsHistoryLimit": spec.SuccessfulJobsHistoryLimit, "failedJobsHistoryLimit": spec.FailedJobsHistoryLimit} {
		if v != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*v), specPath.Child(name))...)
		}
	}
	jt := specPath.Child("jobTemplate")
	return append(errs, validateJobSpec(&spec.JobTemplate.Spec, jt.Child("spec"), false)...)
}
