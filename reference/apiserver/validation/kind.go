package validation

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Kind is the strategy of one kind, built from typed functions; every function is optional.
// It implements the registry's Strategy: the generic ObjectMeta checks (name rule, scope,
// labels, annotations, owner references, finalizers, immutable fields) come first, then the
// kind's own.
type Kind[T runtime.Object] struct {
	// NameRule checks metadata.name (RuleDNS1123Subdomain when empty).
	NameRule string
	// ClusterScoped kinds have no namespace.
	ClusterScoped bool
	// NoObjectMeta skips the ObjectMeta checks (request bodies of subresources such as
	// Binding and Eviction, whose name is the parent's).
	NoObjectMeta bool
	// Defaults sets the kind's defaults.
	Defaults func(T)
	// Create returns the kind's own field errors of an object (ObjectMeta is checked for it).
	Create func(T) field.ErrorList
	// Update returns the errors of an update beyond Create's on the new object (immutable fields).
	Update func(newObj, oldObj T) field.ErrorList
	// Status returns the errors of a /status write beyond ObjectMeta's.
	Status func(newObj, oldObj T) field.ErrorList
	// PrepareCreate resets what a create may not set (status).
	PrepareCreate func(T)
	// PrepareUpdate keeps what a write of the main resource may not change.
	PrepareUpdate func(newObj, oldObj T)
	// PrepareStatus keeps what a /status write may not change beyond the spec.
	PrepareStatus func(newObj, oldObj T)
}

// NamespaceScoped reports whether objects of the kind live in a namespace.
func (k *Kind[T]) NamespaceScoped() bool { return !k.ClusterScoped }

// Rule returns the kind's name rule.
func (k *Kind[T]) Rule() string {
	if k.NameRule == "" {
		return RuleDNS1123Subdomain
	}
	return k.NameRule
}

// objectType is the Go type of the kind's objects.
func (k *Kind[T]) objectType() reflect.Type {
	var zero T
	return reflect.TypeOf(zero)
}

func typed[T runtime.Object](obj runtime.Object) (T, bool) {
	t, ok := obj.(T)
	return t, ok && !isNil(obj)
}

// Default sets the kind's defaults in place.
func (k *Kind[T]) Default(obj runtime.Object) {
	if t, ok := typed[T](obj); ok && k.Defaults != nil {
		k.Defaults(t)
	}
}

// PrepareForCreate resets what a create may not set.
func (k *Kind[T]) PrepareForCreate(obj runtime.Object) {
	if t, ok := typed[T](obj); ok && k.PrepareCreate != nil {
		k.PrepareCreate(t)
	}
}

// PrepareForUpdate keeps what a write of the main resource may not change.
func (k *Kind[T]) PrepareForUpdate(newObj, oldObj runtime.Object) {
	n, ok1 := typed[T](newObj)
	o, ok2 := typed[T](oldObj)
	if ok1 && ok2 && k.PrepareUpdate != nil {
		k.PrepareUpdate(n, o)
	}
}

// PrepareForStatusUpdate keeps what a /status write may not change beyond the spec.
func (k *Kind[T]) PrepareForStatusUpdate(newObj, oldObj runtime.Object) {
	n, ok1 := typed[T](newObj)
	o, ok2 := typed[T](oldObj)
	if ok1 && ok2 && k.PrepareStatus != nil {
		k.PrepareStatus(n, o)
	}
}

// Validate returns every field error of a new object, ObjectMeta included, sorted by path.
func (k *Kind[T]) Validate(obj runtime.Object) field.ErrorList {
	t, ok := typed[T](obj)
	if !ok {
		var zero T
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("%T is not a %T", obj, zero))}
	}
	errs := k.objectMeta(obj)
	if k.Create != nil {
		errs = append(errs, k.Create(t)...)
	}
	return sortErrors(errs)
}

// ValidateUpdate returns Validate's errors on newObj plus the immutability rules.
func (k *Kind[T]) ValidateUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	n, o, errs := k.pair(newObj, oldObj)
	if errs != nil {
		return errs
	}
	errs = k.Validate(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj, oldObj)...)
	if k.Update != nil {
		errs = append(errs, k.Update(n, o)...)
	}
	return sortErrors(errs)
}

// ValidateStatusUpdate validates a /status write.
func (k *Kind[T]) ValidateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	n, o, errs := k.pair(newObj, oldObj)
	if errs != nil {
		return errs
	}
	errs = validateObjectMetaUpdate(newObj, oldObj)
	errs = append(errs, validateMetaContent(newObj)...)
	if k.Status != nil {
		errs = append(errs, k.Status(n, o)...)
	}
	return sortErrors(errs)
}

func (k *Kind[T]) pair(newObj, oldObj runtime.Object) (T, T, field.ErrorList) {
	n, ok1 := typed[T](newObj)
	o, ok2 := typed[T](oldObj)
	if !ok1 || !ok2 {
		var zero T
		return n, o, field.ErrorList{field.InternalError(nil, fmt.Errorf("update of %T with %T: both must be %T", oldObj, newObj, zero))}
	}
	return n, o, nil
}

// objectMeta runs the ObjectMeta checks of a create: name (the kind's rule), generateName,
// namespace presence and format, labels, annotations, ownerReferences, finalizers, managedFields.
func (k *Kind[T]) objectMeta(obj runtime.Object) field.ErrorList {
	if k.NoObjectMeta {
		return nil
	}
	return ValidateObjectMeta(obj, k.NamespaceScoped(), k.Rule())
}

// ValidateObjectMeta runs the generic ObjectMeta checks of a create for an object of any kind
// (custom resources included) with the given scope and name rule.
func ValidateObjectMeta(obj runtime.Object, namespaced bool, rule string) field.ErrorList {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(metadataPath, err)}
	}
	return apimachineryvalidation.ValidateObjectMetaAccessor(accessor, namespaced, nameFunc(rule), metadataPath)
}

// ValidateObjectMetaUpdate runs the generic ObjectMeta immutability checks of an update.
func ValidateObjectMetaUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	return validateObjectMetaUpdate(newObj, oldObj)
}

// ValidateMetaContent re-checks the mutable content of metadata (labels, annotations, owner
// references, finalizers), as on a /status write.
func ValidateMetaContent(obj runtime.Object) field.ErrorList {
	return validateMetaContent(obj)
}
