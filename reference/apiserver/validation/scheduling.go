package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// scheduling.k8s.io's constants, as kube-apiserver has them.
const (
	// SystemPriorityClassPrefix is reserved for the system priority classes.
	SystemPriorityClassPrefix = "system-"
	// HighestUserDefinablePriority is the largest value of a user's PriorityClass.
	HighestUserDefinablePriority = int32(1000000000)
	// SystemCriticalPriority is the value of system-cluster-critical.
	SystemCriticalPriority = 2 * HighestUserDefinablePriority
	// SystemClusterCritical and SystemNodeCritical name the two system priority classes.
	SystemClusterCritical = "system-cluster-critical"
	SystemNodeCritical    = "system-node-critical"
)

// SystemPriorityClasses returns fresh copies of the priority classes every cluster has, which the
// API server creates at start and refuses to delete.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	policy := corev1.PreemptLowerPriority
	mk := func(name string, value int32, desc string) *schedulingv1.PriorityClass {
		p := policy
		return &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, Description: desc, PreemptionPolicy: &p,
		}
	}
	return []*schedulingv1.PriorityClass{
		mk(SystemNodeCritical, SystemCriticalPriority+1000, "Used for system critical pods that must not be moved from their current node."),
		mk(SystemClusterCritical, SystemCriticalPriority, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
	}
}

// IsSystemPriorityClass reports whether name is one of the system priority classes.
func IsSystemPriorityClass(name string) bool {
	return name == SystemClusterCritical || name == SystemNodeCritical
}

// knownSystemPriorityClass reports whether pc is one of the system classes with its value and
// globalDefault, and why not.
func knownSystemPriorityClass(pc *schedulingv1.PriorityClass) error {
	for _, spc := range SystemPriorityClasses() {
		if spc.Name != pc.Name {
			continue
		}
		if spc.Value != pc.Value {
			return fmt.Errorf("value of %v PriorityClass must be %v", spc.Name, spc.Value)
		}
		if spc.GlobalDefault != pc.GlobalDefault {
			return fmt.Errorf("globalDefault of %v PriorityClass must be %v", spc.Name, spc.GlobalDefault)
		}
		return nil
	}
	return fmt.Errorf("%v is not a known system priority class", pc.Name)
}

// PriorityClassKind is the strategy of scheduling.k8s.io/v1 PriorityClass.
func PriorityClassKind() *Kind[*schedulingv1.PriorityClass] {
	return &Kind[*schedulingv1.PriorityClass]{
		ClusterScoped: true,
		Defaults:      defaultPriorityClass,
		Create:        validatePriorityClass,
		Update:        validatePriorityClassUpdate,
	}
}

// defaultPriorityClass: preemptionPolicy PreemptLowerPriority.
func defaultPriorityClass(pc *schedulingv1.PriorityClass) {
	if pc.PreemptionPolicy == nil {
		pc.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
	}
}

// validatePriorityClass: a name with the system- prefix must be a system class with its value
// and globalDefault; other classes may not go above HighestUserDefinablePriority; the
// preemption policy is Never or PreemptLowerPriority.
func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, SystemPriorityClassPrefix) {
		if err := knownSystemPriorityClass(pc); err != nil {
			errs = append(errs, field.Forbidden(metadataPath.Child("name"),
				"priority class names with '"+SystemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		errs = append(errs, validateEnum(*pc.PreemptionPolicy, supportedPreemptionPolicies, field.NewPath("preemptionPolicy"))...)
	}
	return errs
}

// validatePriorityClassUpdate: value and preemptionPolicy are immutable.
func validatePriorityClassUpdate(n, o *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if n.Value != o.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.PreemptionPolicy, o.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
	return errs
}
