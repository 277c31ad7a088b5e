package validation

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// selectorMismatchMsg is Kubernetes' message when template labels do not match the selector.
const selectorMismatchMsg = "`selector` does not match template `labels`"

// validateSelectorAndTemplate checks a workload's selector (required, valid, non-empty) and pod
// template (labels matching the selector, a valid pod spec with restartPolicy Always and no
// activeDeadlineSeconds).
func validateSelectorAndTemplate(selector *metav1.LabelSelector, template *corev1.PodTemplateSpec, kind string) field.ErrorList {
	var errs field.ErrorList
	selPath := specPath.Child("selector")
	tmplPath := specPath.Child("template")
	var sel labels.Selector
	if selector == nil {
		errs = append(errs, field.Required(selPath, ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(selector, metav1validation.LabelSelectorValidationOptions{}, selPath)...)
		if len(selector.MatchLabels)+len(selector.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(selPath, selector, fmt.Sprintf("empty selector is invalid for %s", kind)))
		} else if s, err := metav1.LabelSelectorAsSelector(selector); err == nil {
			sel = s
		}
	}
	if sel != nil && !sel.Matches(labels.Set(template.Labels)) {
		errs = append(errs, field.Invalid(tmplPath.Child("metadata", "labels"), template.Labels, selectorMismatchMsg))
	}
	errs = append(errs, validateTemplateMeta(&template.ObjectMeta, tmplPath.Child("metadata"))...)
	tspec := tmplPath.Child("spec")
	errs = append(errs, validatePodSpec(&template.Spec, tspec, podSpecOpts{})...)
	if template.Spec.RestartPolicy != "" && template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tspec.Child("restartPolicy"), template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tspec.Child("activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return errs
}

func validateReplicas(replicas *int32, fldPath *field.Path) field.ErrorList {
	if replicas == nil {
		return nil
	}
	return apimachineryvalidation.ValidateNonnegativeField(int64(*replicas), fldPath)
}

// validateDeployment checks a deployment on create.
func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	var errs field.ErrorList
	spec := &d.Spec
	errs = append(errs, validateReplicas(spec.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, "deployment")...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	if spec.ProgressDeadlineSeconds != nil {
		pds := *spec.ProgressDeadlineSeconds
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(pds), specPath.Child("progressDeadlineSeconds"))...)
		if pds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(specPath.Child("progressDeadlineSeconds"), pds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateDeploymentStrategy: type Recreate or RollingUpdate; rollingUpdate only with
// RollingUpdate; maxUnavailable and maxSurge ints >= 0 or percents, maxUnavailable <= 100%, not
// both zero.
func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			errs = append(errs, field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil"))
		} else {
			errs = append(errs, validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))...)
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), s.Type, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	return errs
}

func validateRollingUpdate(ru *appsv1.RollingUpdateDeployment, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	unavailPath, surgePath := fldPath.Child("maxUnavailable"), fldPath.Child("maxSurge")
	unavail, surge := intOrZero(ru.MaxUnavailable), intOrZero(ru.MaxSurge)
	errs = append(errs, validatePositiveIntOrPercent(unavail, unavailPath)...)
	errs = append(errs, validatePositiveIntOrPercent(surge, surgePath)...)
	if v, isPercent, ok := intOrPercentValue(unavail); ok && isPercent && v > 100 {
		errs = append(errs, field.Invalid(unavailPath, unavail.String(), "must not be greater than 100%"))
	}
	uv, _, uok := intOrPercentValue(unavail)
	sv, _, sok := intOrPercentValue(surge)
	if uok && sok && uv == 0 && sv == 0 {
		errs = append(errs, field.Invalid(unavailPath, unavail.String(), "may not be 0 when `maxSurge` is 0"))
	}
	return errs
}

func intOrZero(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromInt32(0)
	}
	return *v
}

// intOrPercentValue returns the number of an int or a "N%" string.
func intOrPercentValue(v intstr.IntOrString) (value int, isPercent, ok bool) {
	if v.Type == intstr.Int {
		return v.IntValue(), false, true
	}
	if !strings.HasSuffix(v.StrVal, "%") {
		return 0, true, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	if err != nil {
		return 0, true, false
	}
	return n, true, true
}

func validatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		return invalidMsgs(fldPath, v.StrVal, utilvalidation.IsValidPercent(v.StrVal))
	case intstr.Int:
		return apimachineryvalidation.ValidateNonnegativeField(int64(v.IntValue()), fldPath)
	}
	return nil
}

// validateReplicaSet checks a replica set on create.
func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateReplicas(rs.Spec.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, validateSelectorAndTemplate(rs.Spec.Selector, &rs.Spec.Template, "replicaset")...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(rs.Spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	return errs
}

// validateSelectorUpdate: spec.selector is immutable in apps/v1.
func validateSelectorUpdate(newSel, oldSel *metav1.LabelSelector) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newSel, oldSel, specPath.Child("selector"))
}

// replicaCounts are the status counters shared by deployments and replica sets.
type replicaCounts struct {
	replicas, ready, available, observedGeneration int64
	extra                                          map[string]int64
}

// validateReplicaCounts: every counter non-negative, ready and available not above replicas,
// available not above ready.
func validateReplicaCounts(c replicaCounts) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(c.replicas, statusPath.Child("replicas"))...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(c.ready, statusPath.Child("readyReplicas"))...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(c.available, statusPath.Child("availableReplicas"))...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(c.observedGeneration, statusPath.Child("observedGeneration"))...)
	for name, v := range c.extra {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(v, statusPath.Child(name))...)
	}
	if c.replicas < 0 {
		return errs // the comparisons below would only repeat the same mistake
	}
	if c.ready > c.replicas {
		errs = append(errs, field.Invalid(statusPath.Child("readyReplicas"), c.ready, "cannot be greater than status.replicas"))
	}
	if c.available > c.replicas {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), c.available, "cannot be greater than status.replicas"))
	}
	if c.available > c.ready {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), c.available, "cannot be greater than readyReplicas"))
	}
	return errs
}

func validateDeploymentStatus(d *appsv1.Deployment) field.ErrorList {
	s := &d.Status
	errs := validateReplicaCounts(replicaCounts{
		replicas: int64(s.Replicas), ready: int64(s.ReadyReplicas), available: int64(s.AvailableReplicas),
		observedGeneration: s.ObservedGeneration,
		extra:              map[string]int64{"updatedReplicas": int64(s.UpdatedReplicas), "unavailableReplicas": int64(s.UnavailableReplicas)},
	})
	if s.Replicas >= 0 && s.UpdatedReplicas > s.Replicas {
		errs = append(errs, field.Invalid(statusPath.Child("updatedReplicas"), s.UpdatedReplicas, "cannot be greater than status.replicas"))
	}
	if s.CollisionCount != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*s.CollisionCount), statusPath.Child("collisionCount"))...)
	}
	return errs
}

func validateReplicaSetStatus(rs *appsv1.ReplicaSet) field.ErrorList {
	s := &rs.Status
	errs := validateReplicaCounts(replicaCounts{
		replicas: int64(s.Replicas), ready: int64(s.ReadyReplicas), available: int64(s.AvailableReplicas),
		observedGeneration: s.ObservedGeneration,
		extra:              map[string]int64{"fullyLabeledReplicas": int64(s.FullyLabeledReplicas)},
	})
	if s.Replicas >= 0 && s.FullyLabeledReplicas > s.Replicas {
		errs = append(errs, field.Invalid(statusPath.Child("fullyLabeledReplicas"), s.FullyLabeledReplicas, "cannot be greater than status.replicas"))
	}
	return errs
}
