package validation

import (
	policyv1 "k8s.io/api/policy/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var supportedUnhealthyPodEvictionPolicies = []string{string(policyv1.IfHealthyBudget), string(policyv1.AlwaysAllow)}

// PodDisruptionBudgetKind is the strategy of policy/v1 PodDisruptionBudget: status is the
// disruption controller's (reset on create, kept by writes of the main resource).
func PodDisruptionBudgetKind() *Kind[*policyv1.PodDisruptionBudget] {
	return &Kind[*policyv1.PodDisruptionBudget]{
		Create: func(p *policyv1.PodDisruptionBudget) field.ErrorList { return validatePDBSpec(&p.Spec, specPath) },
		Status: func(n, _ *policyv1.PodDisruptionBudget) field.ErrorList {
			return validatePDBStatus(&n.Status, statusPath)
		},
		PrepareCreate: func(p *policyv1.PodDisruptionBudget) { p.Status = policyv1.PodDisruptionBudgetStatus{} },
	}
}

// validatePDBSpec: minAvailable and maxUnavailable exclusive, each a non-negative int or a
// percent of at most 100%; a valid selector; a known unhealthyPodEvictionPolicy.
func validatePDBSpec(spec *policyv1.PodDisruptionBudgetSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(fldPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	for name, v := range map[string]*intstr.IntOrString{"minAvailable": spec.MinAvailable, "maxUnavailable": spec.MaxUnavailable} {
		if v == nil {
			continue
		}
		p := fldPath.Child(name)
		errs = append(errs, validatePositiveIntOrPercent(*v, p)...)
		if n, isPercent, ok := intOrPercentValue(*v); isPercent && ok && n > 100 {
			errs = append(errs, field.Invalid(p, v.String(), "must not be greater than 100%"))
		}
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	if spec.UnhealthyPodEvictionPolicy != nil {
		errs = append(errs, validateEnum(*spec.UnhealthyPodEvictionPolicy, supportedUnhealthyPodEvictionPolicies, fldPath.Child("unhealthyPodEvictionPolicy"))...)
	}
	return errs
}

// validatePDBStatus: valid conditions and non-negative counters.
func validatePDBStatus(s *policyv1.PodDisruptionBudgetStatus, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateConditions(s.Conditions, fldPath.Child("conditions"))
	for name, v := range map[string]int32{
		"disruptionsAllowed": s.DisruptionsAllowed, "currentHealthy": s.CurrentHealthy,
		"desiredHealthy": s.DesiredHealthy, "expectedPods": s.ExpectedPods,
	} {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(v), fldPath.Child(name))...)
	}
	return errs
}
