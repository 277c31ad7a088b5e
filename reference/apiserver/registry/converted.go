package registry

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ConvertedStrategy returns the Strategy of a version served by conversion (autoscaling/v1
// HorizontalPodAutoscalers, stored as v2), as kube-apiserver defaults, prepares and validates
// every version through one internal form: each call converts the objects to the stored
// version with toStored, applies stored (that version's strategy) and converts the result back
// into the caller's object with fromStored. Field paths are those of the stored version, as
// kube-apiserver's are those of the internal one. An object that cannot be converted (a
// malformed round-trip annotation) is left as it is by Default and Prepare and invalid for
// Validate.
func ConvertedStrategy[S, T any, PS interface {
	*S
	runtime.Object
}, PT interface {
	*T
	runtime.Object
}](stored Strategy, toStored func(PS) (PT, error), fromStored func(PT) (PS, error)) Strategy {
	return &convertedStrategy[S, T, PS, PT]{stored: stored, to: toStored, from: fromStored}
}

type convertedStrategy[S, T any, PS interface {
	*S
	runtime.Object
}, PT interface {
	*T
	runtime.Object
}] struct {
	stored Strategy
	to     func(PS) (PT, error)
	from   func(PT) (PS, error)
}

// apply runs f on obj's stored form and writes the result back into obj.
func (c *convertedStrategy[S, T, PS, PT]) apply(obj runtime.Object, f func(PT)) {
	in, ok := obj.(PS)
	if !ok {
		return
	}
	st, err := c.to(in)
	if err != nil {
		return
	}
	f(st)
	back, err := c.from(st)
	if err != nil {
		return
	}
	*in = *back
}

// both converts a new and an old object; ok is false when either does not convert.
func (c *convertedStrategy[S, T, PS, PT]) both(newObj, oldObj runtime.Object) (PT, PT, *field.Error) {
	n, err := c.convert(newObj)
	if err != nil {
		return nil, nil, err
	}
	o, err := c.convert(oldObj)
	if err != nil {
		return nil, nil, err
	}
	return n, o, nil
}

func (c *convertedStrategy[S, T, PS, PT]) convert(obj runtime.Object) (PT, *field.Error) {
	in, ok := obj.(PS)
	if !ok {
		return nil, field.InternalError(nil, fmt.Errorf("%T is not the version this strategy converts", obj))
	}
	st, err := c.to(in)
	if err != nil {
		return nil, field.Invalid(field.NewPath("metadata", "annotations"), nil, err.Error())
	}
	return st, nil
}

func (c *convertedStrategy[S, T, PS, PT]) Default(obj runtime.Object) {
	c.apply(obj, func(st PT) { c.stored.Default(st) })
}

func (c *convertedStrategy[S, T, PS, PT]) PrepareForCreate(obj runtime.Object) {
	c.apply(obj, func(st PT) { c.stored.PrepareForCreate(st) })
}

func (c *convertedStrategy[S, T, PS, PT]) PrepareForUpdate(newObj, oldObj runtime.Object) {
	o, err := c.convert(oldObj)
	if err != nil {
		return
	}
	c.apply(newObj, func(st PT) { c.stored.PrepareForUpdate(st, o) })
}

func (c *convertedStrategy[S, T, PS, PT]) PrepareForStatusUpdate(newObj, oldObj runtime.Object) {
	o, err := c.convert(oldObj)
	if err != nil {
		return
	}
	c.apply(newObj, func(st PT) { c.stored.PrepareForStatusUpdate(st, o) })
}

func (c *convertedStrategy[S, T, PS, PT]) Validate(obj runtime.Object) field.ErrorList {
	st, err := c.convert(obj)
	if err != nil {
		return field.ErrorList{err}
	}
	return c.stored.Validate(st)
}

func (c *convertedStrategy[S, T, PS, PT]) ValidateUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	n, o, err := c.both(newObj, oldObj)
	if err != nil {
		return field.ErrorList{err}
	}
	return c.stored.ValidateUpdate(n, o)
}

func (c *convertedStrategy[S, T, PS, PT]) ValidateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	n, o, err := c.both(newObj, oldObj)
	if err != nil {
		return field.ErrorList{err}
	}
	return c.stored.ValidateStatusUpdate(n, o)
}
