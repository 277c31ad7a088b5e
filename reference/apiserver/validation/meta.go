package validation

import (
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// nameFunc returns the apimachinery name check for a rule.
func nameFunc(rule string) apimachineryvalidation.ValidateNameFunc {
	switch rule {
	case RuleDNS1123Label:
		return apimachineryvalidation.NameIsDNSLabel
	case RuleDNS1035Label:
		return apimachineryvalidation.NameIsDNS1035Label
	case RulePathSegment:
		return isPathSegmentName
	default:
		return apimachineryvalidation.NameIsDNSSubdomain
	}
}

var metadataPath = field.NewPath("metadata")

// validateObjectMetaUpdate runs the immutability checks of an update on metadata: name, namespace,
// uid and creationTimestamp may not change, a set deletionTimestamp may not change, generation may
// not decrease, and no finalizer may be added once deletion started. (The resourceVersion
// precondition is the server's business and is not checked here.)
func validateObjectMetaUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	newMeta, err := meta.Accessor(newObj)
	if err != nil {
		return field.ErrorList{field.InternalError(metadataPath, err)}
	}
	oldMeta, err := meta.Accessor(oldObj)
	if err != nil {
		return field.ErrorList{field.InternalError(metadataPath, err)}
	}
	var errs field.ErrorList
	if oldMeta.GetDeletionTimestamp() != nil {
		errs = append(errs, apimachineryvalidation.ValidateNoNewFinalizers(newMeta.GetFinalizers(), oldMeta.GetFinalizers(), metadataPath.Child("finalizers"))...)
	}
	if newMeta.GetGeneration() < oldMeta.GetGeneration() {
		errs = append(errs, field.Invalid(metadataPath.Child("generation"), newMeta.GetGeneration(), "must not be decremented"))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newMeta.GetName(), oldMeta.GetName(), metadataPath.Child("name"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newMeta.GetNamespace(), oldMeta.GetNamespace(), metadataPath.Child("namespace"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newMeta.GetUID(), oldMeta.GetUID(), metadataPath.Child("uid"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newMeta.GetCreationTimestamp(), oldMeta.GetCreationTimestamp(), metadataPath.Child("creationTimestamp"))...)
	if oldMeta.GetDeletionTimestamp() != nil {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(newMeta.GetDeletionTimestamp(), oldMeta.GetDeletionTimestamp(), metadataPath.Child("deletionTimestamp"))...)
	}
	return errs
}

// validateMetaContent re-checks the mutable content of metadata (labels, annotations,
// ownerReferences, finalizers), as Kubernetes does on status updates.
func validateMetaContent(obj runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(metadataPath, err)}
	}
	var errs field.ErrorList
	errs = append(errs, metav1validation.ValidateLabels(m.GetLabels(), metadataPath.Child("labels"))...)
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(m.GetAnnotations(), metadataPath.Child("annotations"))...)
	errs = append(errs, apimachineryvalidation.ValidateOwnerReferences(m.GetOwnerReferences(), metadataPath.Child("ownerReferences"))...)
	errs = append(errs, apimachineryvalidation.ValidateFinalizers(m.GetFinalizers(), metadataPath.Child("finalizers"))...)
	return errs
}

// validateTemplateMeta checks the metadata of an embedded pod template: labels and annotations
// only (a template has no name or namespace of its own).
func validateTemplateMeta(m *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, metav1validation.ValidateLabels(m.Labels, fldPath.Child("labels"))...)
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(m.Annotations, fldPath.Child("annotations"))...)
	return errs
}

// sortErrors orders errors by field path, then by full message, so that the output does not
// depend on map iteration order.
func sortErrors(errs field.ErrorList) field.ErrorList {
	if len(errs) < 2 {
		return errs
	}
	type keyed struct {
		fieldPath, msg string
		err            *field.Error
	}
	ks := make([]keyed, len(errs))
	for i, e := range errs {
		ks[i] = keyed{fieldPath: e.Field, msg: e.Error(), err: e}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].fieldPath != ks[j].fieldPath {
			return ks[i].fieldPath < ks[j].fieldPath
		}
		return ks[i].msg < ks[j].msg
	})
	out := make(field.ErrorList, len(ks))
	for i, k := range ks {
		out[i] = k.err
	}
	return out
}
