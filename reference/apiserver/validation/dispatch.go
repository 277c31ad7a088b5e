package validation

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// strategy is what every Kind implements (the registry's Strategy, plus its scope and name rule).
type strategy interface {
	Default(obj runtime.Object)
	Validate(obj runtime.Object) field.ErrorList
	ValidateUpdate(newObj, oldObj runtime.Object) field.ErrorList
	ValidateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList
	NamespaceScoped() bool
	Rule() string
}

// builtinKinds lists the strategy of every built-in kind, keyed by Go type, for the by-object
// functions of api.go (the API server itself takes each resource's strategy from its registry
// entry).
func builtinKinds() map[reflect.Type]strategy {
	out := map[reflect.Type]strategy{}
	for _, s := range []strategy{
		NamespaceKind(), NodeKind(), PodKind(), ServiceKind(), EndpointsKind(), EventKind(),
		ConfigMapKind(), SecretKind(), ServiceAccountKind(), BindingKind(), DeploymentKind(),
		ReplicaSetKind(), ScaleKind(), LeaseKind(), EndpointSliceKind(), EvictionKind(),
		ValidatingWebhookConfigurationKind(), MutatingWebhookConfigurationKind(), ValidatingAdmissionPolicyKind(), ValidatingAdmissionPolicyBindingKind(),
		MutatingAdmissionPolicyKind(), MutatingAdmissionPolicyBindingKind(),
		RoleKind(), ClusterRoleKind(), RoleBindingKind(), ClusterRoleBindingKind(),
		PriorityClassKind(),
		PodDisruptionBudgetKind(),
		StatefulSetKind(), DaemonSetKind(), ControllerRevisionKind(),
		JobKind(), CronJobKind(), RuntimeClassKind(), StorageVersionMigrationKind(), FlowSchemaKind(), PriorityLevelConfigurationKind(),
		CertificateSigningRequestKind(),
		PodTemplateKind(), ReplicationControllerKind(), LimitRangeKind(), ResourceQuotaKind(),
		CustomResourceDefinitionKind(),
		PersistentVolumeKind(), PersistentVolumeClaimKind(), HorizontalPodAutoscalerKind(), IngressKind(), IngressClassKind(), NetworkPolicyKind(),
		StorageClassKind(), CSIDriverKind(), CSINodeKind(), VolumeAttachmentKind(), CSIStorageCapacityKind(), VolumeAttributesClassKind(),
		APIServiceKind(), ClusterTrustBundleKind(),
		PodCertificateRequestKind(),
	} {
		out[s.(interface{ objectType() reflect.Type }).objectType()] = s
	}
	return out
}

// strategyOf returns the built-in strategy of obj's kind, or nil.
func strategyOf(obj runtime.Object) strategy {
	if isNil(obj) {
		return nil
	}
	return builtinKinds()[reflect.TypeOf(obj)]
}

// defaultObject sets the defaults of a built-in kind.
func defaultObject(obj runtime.Object) {
	if s := strategyOf(obj); s != nil {
		s.Default(obj)
	}
}

// validateCreate validates a new object of a built-in kind; other kinds get the ObjectMeta
// checks of a namespaced kind with DNS-1123 subdomain names.
func validateCreate(obj runtime.Object) field.ErrorList {
	if isNil(obj) {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("nil object"))}
	}
	if s := strategyOf(obj); s != nil {
		return s.Validate(obj)
	}
	return sortErrors(ValidateObjectMeta(obj, true, RuleDNS1123Subdomain))
}

// validateUpdate validates an update of a built-in kind.
func validateUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	if errs := checkPair(newObj, oldObj); errs != nil {
		return errs
	}
	if s := strategyOf(newObj); s != nil {
		return s.ValidateUpdate(newObj, oldObj)
	}
	errs := validateCreate(newObj)
	return sortErrors(append(errs, validateObjectMetaUpdate(newObj, oldObj)...))
}

// validateStatusUpdate validates a /status write of a built-in kind.
func validateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	if errs := checkPair(newObj, oldObj); errs != nil {
		return errs
	}
	if s := strategyOf(newObj); s != nil {
		return s.ValidateStatusUpdate(newObj, oldObj)
	}
	errs := validateObjectMetaUpdate(newObj, oldObj)
	return sortErrors(append(errs, validateMetaContent(newObj)...))
}

// nameRuleOf returns the name rule of obj's kind (RuleDNS1123Subdomain for unknown kinds).
func nameRuleOf(obj runtime.Object) string {
	if s := strategyOf(obj); s != nil {
		return s.Rule()
	}
	return RuleDNS1123Subdomain
}

// checkPair rejects nil objects and objects of different types.
func checkPair(newObj, oldObj runtime.Object) field.ErrorList {
	if isNil(newObj) || isNil(oldObj) {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("nil object"))}
	}
	if reflect.TypeOf(newObj) != reflect.TypeOf(oldObj) {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("update of %T with an object of type %T", oldObj, newObj))}
	}
	return nil
}

// isNil reports whether obj is nil or a typed nil pointer.
func isNil(obj runtime.Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Ptr && v.IsNil()
}
