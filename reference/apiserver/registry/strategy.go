package registry

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Strategy is one resource's own rules, as kube-apiserver's RESTCreateStrategy and
// RESTUpdateStrategy: the generic handlers run the ObjectMeta checks, the system fields and
// admission, and ask the strategy for everything that depends on the kind. Adding a resource
// is a registry entry with its Strategy; the handlers never switch on the type.
//
// Order on create: Default, PrepareForCreate, mutating admission, Validate, validating
// admission. On update: Default, PrepareForUpdate, mutating admission, ValidateUpdate,
// validating admission. On a /status write: PrepareForStatusUpdate, mutating admission,
// ValidateStatusUpdate, validating admission.
type Strategy interface {
	// Default sets the kind's defaults in place.
	Default(obj runtime.Object)
	// PrepareForCreate clears what a create may not set (status) and sets initial values.
	PrepareForCreate(obj runtime.Object)
	// PrepareForUpdate keeps what a write of the main resource may not change beyond the
	// generic carry-over (for example, a namespace's spec.finalizers).
	PrepareForUpdate(newObj, oldObj runtime.Object)
	// PrepareForStatusUpdate keeps what a /status write may not change beyond the spec.
	PrepareForStatusUpdate(newObj, oldObj runtime.Object)
	// Validate returns every field error of a new, defaulted object, ObjectMeta included.
	Validate(obj runtime.Object) field.ErrorList
	// ValidateUpdate returns every field error of newObj replacing oldObj: Validate's checks
	// on newObj plus the kind's immutability rules and ObjectMeta's.
	ValidateUpdate(newObj, oldObj runtime.Object) field.ErrorList
	// ValidateStatusUpdate validates a /status write (newObj carries the stored spec).
	ValidateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList
}

// SubresourceStrategy is implemented by strategies of resources with a writable subresource
// beyond status that takes the status write path (a CertificateSigningRequest's approval): for
// such a subresource PrepareForSubresourceUpdate replaces PrepareForStatusUpdate.
type SubresourceStrategy interface {
	PrepareForSubresourceUpdate(sub string, newObj, oldObj runtime.Object)
}

// SpecSubresourceStrategy is implemented by strategies of resources with a subresource that
// writes a part of the spec (pods/ephemeralcontainers). For a subresource it handles (ok true),
// PrepareForSpecSubresourceUpdate keeps everything of the stored object but that part, and
// ValidateSpecSubresourceUpdate replaces the status validation; the generation moves when the
// spec changed, for resources that track it.
type SpecSubresourceStrategy interface {
	PrepareForSpecSubresourceUpdate(sub string, newObj, oldObj runtime.Object) (ok bool)
	ValidateSpecSubresourceUpdate(sub string, newObj, oldObj runtime.Object) (errs field.ErrorList, ok bool)
}

// RequesterStrategy is implemented by strategies that record who creates an object (a
// CertificateSigningRequest's spec.username, uid, groups and extra); the create path calls it
// after PrepareForCreate.
type RequesterStrategy interface {
	PrepareForCreateBy(obj runtime.Object, requester user.Info)
}

// ScopedStrategy is implemented by strategies that know their scope; New checks that it
// matches the resource's.
type ScopedStrategy interface {
	NamespaceScoped() bool
}

// UnknownFieldsStrategy is implemented by the strategies of kinds decoded without a Go type
// (custom resources): the decoder cannot see their unknown fields, so the strategy reports
// the paths its pruning would drop, for the fieldValidation modes Strict and Warn.
type UnknownFieldsStrategy interface {
	UnknownFields(obj runtime.Object) []string
}

// Scale reads and writes the replicas of a resource with a scale subresource
// (autoscaling/v1 Scale).
type Scale struct {
	// Of returns the desired and observed replicas and the label selector (in its string form).
	Of func(obj runtime.Object) (replicas, statusReplicas int32, selector string, err error)
	// SetReplicas sets the desired replica count.
	SetReplicas func(obj runtime.Object, replicas int32) error
}

// ReplicasScale is the Scale of a typed kind: get returns spec.replicas (nil means 1),
// status.replicas and the label selector; set writes spec.replicas.
func ReplicasScale[T runtime.Object](get func(T) (*int32, int32, *metav1.LabelSelector), set func(T, int32)) *Scale {
	return &Scale{
		Of: func(obj runtime.Object) (int32, int32, string, error) {
			t, ok := obj.(T)
			if !ok {
				return 0, 0, "", fmt.Errorf("scale of %T: unexpected type", obj)
			}
			replicas, statusReplicas, sel := get(t)
			n := int32(1)
			if replicas != nil {
				n = *replicas
			}
			selector := ""
			if sel != nil {
				s, err := metav1.LabelSelectorAsSelector(sel)
				if err != nil {
					return 0, 0, "", err
				}
				selector = s.String()
			}
			return n, statusReplicas, selector, nil
		},
		SetReplicas: func(obj runtime.Object, n int32) error {
			t, ok := obj.(T)
			if !ok {
				return fmt.Errorf("scale of %T: unexpected type", obj)
			}
			set(t, n)
			return nil
		},
	}
}
