package validation

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The strategies of the built-in kinds. Each function returns a fresh value; the registry's
// entries hold them.

// NamespaceKind is the strategy of core/v1 Namespace.
func NamespaceKind() *Kind[*corev1.Namespace] {
	return &Kind[*corev1.Namespace]{
		NameRule: RuleDNS1123Label, ClusterScoped: true,
		Defaults: defaultNamespace,
		Create:   validateNamespace,
		Status:   func(n, _ *corev1.Namespace) field.ErrorList { return validateNamespaceStatus(n) },
		PrepareCreate: func(ns *corev1.Namespace) {
			ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
			for _, f := range ns.Spec.Finalizers {
				if f == corev1.FinalizerKubernetes {
					return
				}
			}
			ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
		},
		// spec.finalizers change only through namespaces/NAME/finalize.
		PrepareUpdate: func(n, o *corev1.Namespace) { n.Spec.Finalizers = o.Spec.Finalizers },
	}
}

// NodeKind is the strategy of core/v1 Node.
func NodeKind() *Kind[*corev1.Node] {
	return &Kind[*corev1.Node]{
		ClusterScoped: true,
		Defaults:      defaultNode,
		Create:        validateNode,
		Update:        validateNodeUpdate,
		Status: func(n, o *corev1.Node) field.ErrorList {
			return append(validateNodeStatus(n), validateNodeUpdate(n, o)...)
		},
	}
}

// PodKind is the strategy of core/v1 Pod.
func PodKind() *PodStrategy {
	return &PodStrategy{Kind: &Kind[*corev1.Pod]{
		Defaults: defaultPod,
		Create:   validatePod,
		Update:   validatePodUpdate,
		Status:   validatePodStatusUpdate,
		PrepareCreate: func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: QOSClass(&p.Spec)}
			MergeAffinityLabelKeys(p)
			mergeSpreadMatchLabelKeys(p)
		},
		// A status write may not change the owners.
		PrepareStatus: func(n, o *corev1.Pod) { n.OwnerReferences = o.OwnerReferences },
	}}
}

// PodStrategy is the Pod kind's strategy: Kind's rules plus the pods/ephemeralcontainers
// subresource, which writes spec.ephemeralContainers only, and pods/resize, which writes the
// containers' resources and resizePolicy only.
type PodStrategy struct {
	*Kind[*corev1.Pod]
}

// PrepareForSpecSubresourceUpdate keeps all of the stored pod but spec.ephemeralContainers
// (pods/ephemeralcontainers) or the containers' resources and resizePolicy (pods/resize).
func (s *PodStrategy) PrepareForSpecSubresourceUpdate(sub string, newObj, oldObj runtime.Object) bool {
	n, ok1 := newObj.(*corev1.Pod)
	o, ok2 := oldObj.(*corev1.Pod)
	if !ok1 || !ok2 {
		return false
	}
	switch sub {
	case "ephemeralcontainers":
		PrepareEphemeralContainersUpdate(n, o)
	case SubresourceResize:
		PreparePodResize(n, o)
	default:
		return false
	}
	return true
}

// ValidateSpecSubresourceUpdate validates a write of pods/NAME/ephemeralcontainers or
// pods/NAME/resize.
func (s *PodStrategy) ValidateSpecSubresourceUpdate(sub string, newObj, oldObj runtime.Object) (field.ErrorList, bool) {
	n, ok1 := newObj.(*corev1.Pod)
	o, ok2 := oldObj.(*corev1.Pod)
	if !ok1 || !ok2 {
		return nil, false
	}
	switch sub {
	case "ephemeralcontainers":
		return ValidateEphemeralContainersUpdate(n, o), true
	case SubresourceResize:
		return ValidatePodResize(n, o), true
	}
	return nil, false
}

// ServiceKind is the strategy of core/v1 Service.
func ServiceKind() *Kind[*corev1.Service] {
	return &Kind[*corev1.Service]{
		NameRule:      RuleDNS1035Label,
		Defaults:      defaultService,
		Create:        validateService,
		Update:        validateServiceUpdate,
		Status:        func(n, _ *corev1.Service) field.ErrorList { return validateServiceStatus(n) },
		PrepareCreate: func(s *corev1.Service) { s.Status = corev1.ServiceStatus{} },
	}
}

// EndpointsKind is the strategy of core/v1 Endpoints.
func EndpointsKind() *Kind[*corev1.Endpoints] {
	return &Kind[*corev1.Endpoints]{Defaults: defaultEndpoints, Create: validateEndpoints}
}

// EventKind is the strategy of core/v1 Event.
func EventKind() *Kind[*corev1.Event] {
	return &Kind[*corev1.Event]{Create: validateEvent}
}

// EventsV1EventKind is the strategy of an Event written through events.k8s.io/v1, applied to
// its stored core/v1 form: core's rules plus the strict ones of the newer API (on create: an
// eventTime, no deprecated field; on update: nothing but the series and metadata changes).
func EventsV1EventKind() *EventsV1Strategy {
	return &EventsV1Strategy{Kind: &Kind[*corev1.Event]{Create: validateEvent, Update: validateEventsV1Update}}
}

// EventsV1Strategy is EventsV1EventKind's strategy.
type EventsV1Strategy struct {
	*Kind[*corev1.Event]
}

// Validate is core's validation of a new Event plus the strict rules of a create through
// events.k8s.io/v1.
func (s *EventsV1Strategy) Validate(obj runtime.Object) field.ErrorList {
	errs := s.Kind.Validate(obj)
	if ev, ok := obj.(*corev1.Event); ok {
		errs = append(errs, validateEventsV1Create(ev)...)
	}
	return sortErrors(errs)
}

// ConfigMapKind is the strategy of core/v1 ConfigMap.
func ConfigMapKind() *Kind[*corev1.ConfigMap] {
	return &Kind[*corev1.ConfigMap]{Create: validateConfigMap, Update: validateConfigMapUpdate}
}

// SecretKind is the strategy of core/v1 Secret.
func SecretKind() *Kind[*corev1.Secret] {
	return &Kind[*corev1.Secret]{Defaults: defaultSecret, Create: validateSecret, Update: validateSecretUpdate}
}

// ServiceAccountKind is the strategy of core/v1 ServiceAccount.
func ServiceAccountKind() *Kind[*corev1.ServiceAccount] {
	return &Kind[*corev1.ServiceAccount]{Create: validateServiceAccount}
}

// BindingKind validates core/v1 Binding (pods/binding).
func BindingKind() *Kind[*corev1.Binding] {
	return &Kind[*corev1.Binding]{NoObjectMeta: true, Create: validateBinding}
}

// DeploymentKind is the strategy of apps/v1 Deployment.
func DeploymentKind() *Kind[*appsv1.Deployment] {
	return &Kind[*appsv1.Deployment]{
		Defaults: defaultDeployment,
		Create:   validateDeployment,
		Update: func(n, o *appsv1.Deployment) field.ErrorList {
			return validateSelectorUpdate(n.Spec.Selector, o.Spec.Selector)
		},
		Status:        func(n, _ *appsv1.Deployment) field.ErrorList { return validateDeploymentStatus(n) },
		PrepareCreate: func(d *appsv1.Deployment) { d.Status = appsv1.DeploymentStatus{} },
		PrepareStatus: func(n, o *appsv1.Deployment) { n.Labels = o.Labels },
	}
}

// ReplicaSetKind is the strategy of apps/v1 ReplicaSet.
func ReplicaSetKind() *Kind[*appsv1.ReplicaSet] {
	return &Kind[*appsv1.ReplicaSet]{
		Defaults: defaultReplicaSet,
		Create:   validateReplicaSet,
		Update: func(n, o *appsv1.ReplicaSet) field.ErrorList {
			return validateSelectorUpdate(n.Spec.Selector, o.Spec.Selector)
		},
		Status:        func(n, _ *appsv1.ReplicaSet) field.ErrorList { return validateReplicaSetStatus(n) },
		PrepareCreate: func(rs *appsv1.ReplicaSet) { rs.Status = appsv1.ReplicaSetStatus{} },
		PrepareStatus: func(n, o *appsv1.ReplicaSet) { n.Labels = o.Labels },
	}
}

// ScaleKind validates autoscaling/v1 Scale (the scale subresource).
func ScaleKind() *Kind[*autoscalingv1.Scale] {
	return &Kind[*autoscalingv1.Scale]{
		Create: validateScale,
		Status: func(n, _ *autoscalingv1.Scale) field.ErrorList {
			return apimachineryvalidation.ValidateNonnegativeField(int64(n.Status.Replicas), statusPath.Child("replicas"))
		},
	}
}

// LeaseKind is the strategy of coordination.k8s.io/v1 Lease.
func LeaseKind() *Kind[*coordinationv1.Lease] {
	return &Kind[*coordinationv1.Lease]{Create: validateLease}
}

// EndpointSliceKind is the strategy of discovery.k8s.io/v1 EndpointSlice.
func EndpointSliceKind() *Kind[*discoveryv1.EndpointSlice] {
	return &Kind[*discoveryv1.EndpointSlice]{
		Defaults: defaultEndpointSlice, Create: validateEndpointSlice, Update: validateEndpointSliceUpdate,
	}
}

// EvictionKind validates policy/v1 Eviction (pods/eviction).
func EvictionKind() *Kind[*policyv1.Eviction] {
	return &Kind[*policyv1.Eviction]{NoObjectMeta: true, Create: validateEviction}
}

// RoleKind is the strategy of rbac.authorization.k8s.io/v1 Role.
func RoleKind() *Kind[*rbacv1.Role] {
	return &Kind[*rbacv1.Role]{NameRule: RulePathSegment, Create: validateRole}
}

// ClusterRoleKind is the strategy of rbac.authorization.k8s.io/v1 ClusterRole.
func ClusterRoleKind() *Kind[*rbacv1.ClusterRole] {
	return &Kind[*rbacv1.ClusterRole]{NameRule: RulePathSegment, ClusterScoped: true, Create: validateClusterRole}
}

// RoleBindingKind is the strategy of rbac.authorization.k8s.io/v1 RoleBinding.
func RoleBindingKind() *Kind[*rbacv1.RoleBinding] {
	return &Kind[*rbacv1.RoleBinding]{
		NameRule: RulePathSegment,
		Defaults: func(b *rbacv1.RoleBinding) { defaultRoleRef(&b.RoleRef); defaultSubjects(b.Subjects) },
		Create:   validateRoleBinding,
		Update:   func(n, o *rbacv1.RoleBinding) field.ErrorList { return validateRoleRefUpdate(n.RoleRef, o.RoleRef) },
	}
}

// ClusterRoleBindingKind is the strategy of rbac.authorization.k8s.io/v1 ClusterRoleBinding.
func ClusterRoleBindingKind() *Kind[*rbacv1.ClusterRoleBinding] {
	return &Kind[*rbacv1.ClusterRoleBinding]{
		NameRule: RulePathSegment, ClusterScoped: true,
		Defaults: func(b *rbacv1.ClusterRoleBinding) { defaultRoleRef(&b.RoleRef); defaultSubjects(b.Subjects) },
		Create:   validateClusterRoleBinding,
		Update: func(n, o *rbacv1.ClusterRoleBinding) field.ErrorList {
			return validateRoleRefUpdate(n.RoleRef, o.RoleRef)
		},
	}
}
