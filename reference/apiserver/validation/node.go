package validation

import (
	nodev1 "k8s.io/api/node/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RuntimeClassKind is the strategy of node.k8s.io/v1 RuntimeClass: handler is a DNS-1123 label
// and immutable; overhead.podFixed non-negative; scheduling's nodeSelector and tolerations
// valid.
func RuntimeClassKind() *Kind[*nodev1.RuntimeClass] {
	return &Kind[*nodev1.RuntimeClass]{
		ClusterScoped: true,
		Create:        validateRuntimeClass,
		Update: func(n, o *nodev1.RuntimeClass) field.ErrorList {
			return apimachineryvalidation.ValidateImmutableField(n.Handler, o.Handler, field.NewPath("handler"))
		},
	}
}

func validateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	hp := field.NewPath("handler")
	errs := invalidMsgs(hp, rc.Handler, apimachineryvalidation.NameIsDNSLabel(rc.Handler, false))
	if rc.Overhead != nil {
		op := field.NewPath("overhead", "podFixed")
		for name, q := range rc.Overhead.PodFixed {
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(op.Key(string(name)), q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	if s := rc.Scheduling; s != nil {
		sp := field.NewPath("scheduling")
		errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, sp.Child("nodeSelector"))...)
		errs = append(errs, validateTolerations(s.Tolerations, sp.Child("tolerations"))...)
	}
	return errs
}
