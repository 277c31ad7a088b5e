package validation

import (
	"fmt"
	"strings"

	svmv1 "k8s.io/api/storagemigration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// StorageVersionMigrationKind is the strategy of storagemigration.k8s.io/v1
// StorageVersionMigration: spec.resource.resource is required and a DNS-1035 label, the group
// a DNS-1123 subdomain; the spec is immutable; status holds valid conditions, of which
// Succeeded and Failed are never both true and never turn false again, and a
// status.resourceVersion that never changes once set.
func StorageVersionMigrationKind() *Kind[*svmv1.StorageVersionMigration] {
	return &Kind[*svmv1.StorageVersionMigration]{
		ClusterScoped: true,
		Create:        validateStorageVersionMigration,
		Update: func(n, o *svmv1.StorageVersionMigration) field.ErrorList {
			if !equality.Semantic.DeepEqual(n.Spec, o.Spec) {
				return field.ErrorList{field.Invalid(specPath, n.Spec, "field is immutable")}
			}
			return nil
		},
		Status:        validateStorageVersionMigrationStatus,
		PrepareCreate: func(s *svmv1.StorageVersionMigration) { s.Status = svmv1.StorageVersionMigrationStatus{} },
	}
}

func validateStorageVersionMigration(s *svmv1.StorageVersionMigration) field.ErrorList {
	var errs field.ErrorList
	rp := specPath.Child("resource")
	if s.Spec.Resource.Resource == "" {
		errs = append(errs, field.Required(rp.Child("resource"), "resource is required to be set"))
	} else if msgs := utilvalidation.IsDNS1035Label(s.Spec.Resource.Resource); len(msgs) > 0 {
		errs = append(errs, field.Invalid(rp.Child("resource"), s.Spec.Resource.Resource, strings.Join(msgs, ",")))
	}
	if g := s.Spec.Resource.Group; g != "" {
		if msgs := utilvalidation.IsDNS1123Subdomain(g); len(msgs) > 0 {
			errs = append(errs, field.Invalid(rp.Child("group"), g, strings.Join(msgs, ",")))
		}
	}
	return errs
}

func validateStorageVersionMigrationStatus(n, o *svmv1.StorageVersionMigration) field.ErrorList {
	var errs field.ErrorList
	if rv := n.Status.ResourceVersion; rv != "" {
		if _, err := resourceversion.CompareResourceVersion(rv, rv); err != nil {
			errs = append(errs, field.Invalid(statusPath.Child("resourceVersion"), rv, err.Error()))
		}
	}
	errs = append(errs, metav1validation.ValidateConditions(n.Status.Conditions, statusPath.Child("conditions"))...)
	if o.Status.ResourceVersion != "" && o.Status.ResourceVersion != n.Status.ResourceVersion {
		errs = append(errs, field.Invalid(statusPath.Child("resourceVersion"), n.Status.ResourceVersion, "field is immutable"))
	}
	conds := statusPath.Child("conditions")
	succeeded := func(s *svmv1.StorageVersionMigration) bool {
		return meta.IsStatusConditionTrue(s.Status.Conditions, string(svmv1.MigrationSucceeded))
	}
	failed := func(s *svmv1.StorageVersionMigration) bool {
		return meta.IsStatusConditionTrue(s.Status.Conditions, string(svmv1.MigrationFailed))
	}
	if succeeded(n) && failed(n) {
		errs = append(errs, field.Invalid(conds, n.Status.Conditions, "Both success and failed conditions cannot be true at the same time"))
	}
	for _, c := range []struct {
		name string
		is   func(*svmv1.StorageVersionMigration) bool
	}{{"Success", succeeded}, {"Failed", failed}} {
		if c.is(o) && !c.is(n) {
			errs = append(errs, field.Invalid(conds, n.Status.Conditions, fmt.Sprintf("%s condition cannot be set to false once it is true", c.name)))
		}
	}
	return errs
}
