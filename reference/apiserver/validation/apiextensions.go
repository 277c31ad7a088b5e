package validation

import (
	"context"
	"fmt"
	"reflect"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsinstall "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CustomResourceCleanupFinalizer is the finalizer the API server keeps on a
// CustomResourceDefinition until the custom resources it defines are deleted, as
// kube-apiserver's apiextensions-apiserver.
const CustomResourceCleanupFinalizer = apiextensions.CustomResourceCleanupFinalizer

// CRDStrategy is the strategy of apiextensions.k8s.io/v1 CustomResourceDefinition. The
// object is validated by apiextensions-apiserver's validation on its internal type (converted
// with the module's own scheme): ObjectMeta (the name must be spec.names.plural+"."+spec.group),
// names, versions, the structural OpenAPI schema, defaults, subresources, printer columns,
// conversion. Updates use the module's update validation (immutable names once established,
// ratcheting of schema rules), as kube-apiserver.
type CRDStrategy struct {
	scheme *runtime.Scheme
}

// CustomResourceDefinitionKind returns the strategy of CustomResourceDefinition.
func CustomResourceDefinitionKind() *CRDStrategy {
	s := runtime.NewScheme()
	apiextensionsinstall.Install(s)
	return &CRDStrategy{scheme: s}
}

// NamespaceScoped is false: CRDs are cluster-scoped.
func (*CRDStrategy) NamespaceScoped() bool { return false }

// Rule is the name rule of the generic checks (the module's validation adds that the name is
// spec.names.plural+"."+spec.group).
func (*CRDStrategy) Rule() string { return RuleDNS1123Subdomain }

func (*CRDStrategy) objectType() reflect.Type {
	return reflect.TypeOf(&apiextensionsv1.CustomResourceDefinition{})
}

// Internal converts a v1 CRD to apiextensions' internal type (what its validation and helpers
// work on).
func (k *CRDStrategy) Internal(crd *apiextensionsv1.CustomResourceDefinition) (*apiextensions.CustomResourceDefinition, error) {
	out := &apiextensions.CustomResourceDefinition{}
	if err := k.scheme.Convert(crd, out, nil); err != nil {
		return nil, fmt.Errorf("converting CustomResourceDefinition %s: %w", crd.Name, err)
	}
	return out, nil
}

func crdOf(obj runtime.Object) (*apiextensionsv1.CustomResourceDefinition, bool) {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	return crd, ok && crd != nil
}

// Default sets the v1 defaults (conversion strategy None, scope-independent schema defaults).
func (k *CRDStrategy) Default(obj runtime.Object) {
	if crd, ok := crdOf(obj); ok {
		k.scheme.Default(crd)
	}
}

// storedVersionOf adds the storage version to status.storedVersions, as kube-apiserver.
func storedVersionOf(crd *apiextensionsv1.CustomResourceDefinition) {
	for _, v := range crd.Spec.Versions {
		if !v.Storage {
			continue
		}
		for _, sv := range crd.Status.StoredVersions {
			if sv == v.Name {
				return
			}
		}
		crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
		return
	}
}

// PrepareForCreate clears the status, records the storage version and adds the cleanup
// finalizer (kube-apiserver adds it on the first delete; here it is there from the start, so
// the custom resources are always deleted before their CRD).
func (k *CRDStrategy) PrepareForCreate(obj runtime.Object) {
	crd, ok := crdOf(obj)
	if !ok {
		return
	}
	crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
	storedVersionOf(crd)
	for _, f := range crd.Finalizers {
		if f == CustomResourceCleanupFinalizer {
			return
		}
	}
	crd.Finalizers = append(crd.Finalizers, CustomResourceCleanupFinalizer)
}

// PrepareForUpdate keeps the stored status and records a new storage version.
func (k *CRDStrategy) PrepareForUpdate(newObj, oldObj runtime.Object) {
	n, ok1 := crdOf(newObj)
	o, ok2 := crdOf(oldObj)
	if !ok1 || !ok2 {
		return
	}
	n.Status = *o.Status.DeepCopy()
	storedVersionOf(n)
}

// PrepareForStatusUpdate keeps the stored spec (the generic handler already did).
func (k *CRDStrategy) PrepareForStatusUpdate(newObj, oldObj runtime.Object) {
	n, ok1 := crdOf(newObj)
	o, ok2 := crdOf(oldObj)
	if ok1 && ok2 && !equality.Semantic.DeepEqual(n.Spec, o.Spec) {
		n.Spec = *o.Spec.DeepCopy()
	}
}

func (k *CRDStrategy) pair(newObj, oldObj runtime.Object) (*apiextensions.CustomResourceDefinition, *apiextensions.CustomResourceDefinition, field.ErrorList) {
	n, ok1 := crdOf(newObj)
	o, ok2 := crdOf(oldObj)
	if !ok1 || !ok2 {
		return nil, nil, field.ErrorList{field.InternalError(nil, fmt.Errorf("update of %T with %T: both must be CustomResourceDefinitions", oldObj, newObj))}
	}
	in, err := k.Internal(n)
	if err != nil {
		return nil, nil, field.ErrorList{field.InternalError(nil, err)}
	}
	io, err := k.Internal(o)
	if err != nil {
		return nil, nil, field.ErrorList{field.InternalError(nil, err)}
	}
	return in, io, nil
}

// Validate validates a new CRD with apiextensions-apiserver's ValidateCustomResourceDefinition.
func (k *CRDStrategy) Validate(obj runtime.Object) field.ErrorList {
	crd, ok := crdOf(obj)
	if !ok {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("%T is not a CustomResourceDefinition", obj))}
	}
	in, err := k.Internal(crd)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return crdvalidation.ValidateCustomResourceDefinition(context.Background(), in)
}

// ValidateUpdate validates an update with ValidateCustomResourceDefinitionUpdate.
func (k *CRDStrategy) ValidateUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	n, o, errs := k.pair(newObj, oldObj)
	if errs != nil {
		return errs
	}
	return crdvalidation.ValidateCustomResourceDefinitionUpdate(context.Background(), n, o)
}

// ValidateStatusUpdate validates a /status write with ValidateUpdateCustomResourceDefinitionStatus.
func (k *CRDStrategy) ValidateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	n, o, errs := k.pair(newObj, oldObj)
	if errs != nil {
		return errs
	}
	return crdvalidation.ValidateUpdateCustomResourceDefinitionStatus(context.Background(), n, o)
}
