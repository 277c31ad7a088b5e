package validation

import (
	"fmt"
	"reflect"

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

// defaultObject dispatches defaulting by kind.
func defaultObject(obj runtime.Object) {
	if isNil(obj) {
		return
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		defaultNamespace(o)
	case *corev1.Node:
		defaultNode(o)
	case *corev1.Pod:
		defaultPod(o)
	case *corev1.Service:
		defaultService(o)
	case *corev1.Endpoints:
		defaultEndpoints(o)
	case *corev1.Secret:
		defaultSecret(o)
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.ReplicaSet:
		defaultReplicaSet(o)
	case *discoveryv1.EndpointSlice:
		defaultEndpointSlice(o)
	case *rbacv1.RoleBinding:
		defaultRoleRef(&o.RoleRef)
		defaultSubjects(o.Subjects)
	case *rbacv1.ClusterRoleBinding:
		defaultRoleRef(&o.RoleRef)
		defaultSubjects(o.Subjects)
	}
}

// validateCreate dispatches create validation by kind.
func validateCreate(obj runtime.Object) field.ErrorList {
	if isNil(obj) {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("nil object"))}
	}
	var errs field.ErrorList
	switch o := obj.(type) {
	case *corev1.Namespace:
		errs = validateNamespace(o)
	case *corev1.Node:
		errs = validateNode(o)
	case *corev1.Pod:
		errs = validatePod(o)
	case *corev1.Service:
		errs = validateService(o)
	case *corev1.Endpoints:
		errs = validateEndpoints(o)
	case *corev1.Event:
		errs = validateEvent(o)
	case *corev1.ConfigMap:
		errs = validateConfigMap(o)
	case *corev1.Secret:
		errs = validateSecret(o)
	case *corev1.ServiceAccount:
		errs = validateServiceAccount(o)
	case *corev1.Binding:
		errs = validateBinding(o)
	case *appsv1.Deployment:
		errs = validateDeployment(o)
	case *appsv1.ReplicaSet:
		errs = validateReplicaSet(o)
	case *autoscalingv1.Scale:
		errs = validateScale(o)
	case *coordinationv1.Lease:
		errs = validateLease(o)
	case *discoveryv1.EndpointSlice:
		errs = validateEndpointSlice(o)
	case *policyv1.Eviction:
		errs = validateEviction(o)
	case *rbacv1.Role:
		errs = validateRole(o)
	case *rbacv1.ClusterRole:
		errs = validateClusterRole(o)
	case *rbacv1.RoleBinding:
		errs = validateRoleBinding(o)
	case *rbacv1.ClusterRoleBinding:
		errs = validateClusterRoleBinding(o)
	default:
		errs = validateObjectMeta(o)
	}
	return sortErrors(errs)
}

// validateUpdate dispatches update validation by kind.
func validateUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	if errs := checkPair(newObj, oldObj); errs != nil {
		return errs
	}
	errs := validateCreate(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj, oldObj)...)
	switch n := newObj.(type) {
	case *corev1.Node:
		errs = append(errs, validateNodeUpdate(n, oldObj.(*corev1.Node))...)
	case *corev1.Pod:
		errs = append(errs, validatePodUpdate(n, oldObj.(*corev1.Pod))...)
	case *corev1.Service:
		errs = append(errs, validateServiceUpdate(n, oldObj.(*corev1.Service))...)
	case *corev1.ConfigMap:
		errs = append(errs, validateConfigMapUpdate(n, oldObj.(*corev1.ConfigMap))...)
	case *corev1.Secret:
		errs = append(errs, validateSecretUpdate(n, oldObj.(*corev1.Secret))...)
	case *appsv1.Deployment:
		errs = append(errs, validateSelectorUpdate(n.Spec.Selector, oldObj.(*appsv1.Deployment).Spec.Selector)...)
	case *appsv1.ReplicaSet:
		errs = append(errs, validateSelectorUpdate(n.Spec.Selector, oldObj.(*appsv1.ReplicaSet).Spec.Selector)...)
	case *discoveryv1.EndpointSlice:
		errs = append(errs, validateEndpointSliceUpdate(n, oldObj.(*discoveryv1.EndpointSlice))...)
	case *rbacv1.RoleBinding:
		errs = append(errs, validateRoleRefUpdate(n.RoleRef, oldObj.(*rbacv1.RoleBinding).RoleRef)...)
	case *rbacv1.ClusterRoleBinding:
		errs = append(errs, validateRoleRefUpdate(n.RoleRef, oldObj.(*rbacv1.ClusterRoleBinding).RoleRef)...)
	}
	return sortErrors(errs)
}

// validateStatusUpdate dispatches status-subresource validation by kind.
func validateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	if errs := checkPair(newObj, oldObj); errs != nil {
		return errs
	}
	errs := validateObjectMetaUpdate(newObj, oldObj)
	errs = append(errs, validateMetaContent(newObj)...)
	switch n := newObj.(type) {
	case *corev1.Namespace:
		errs = append(errs, validateNamespaceStatus(n)...)
	case *corev1.Node:
		errs = append(errs, validateNodeStatus(n)...)
		errs = append(errs, validateNodeUpdate(n, oldObj.(*corev1.Node))...)
	case *corev1.Pod:
		errs = append(errs, validatePodStatusUpdate(n, oldObj.(*corev1.Pod))...)
	case *corev1.Service:
		errs = append(errs, validateServiceStatus(n)...)
	case *appsv1.Deployment:
		errs = append(errs, validateDeploymentStatus(n)...)
	case *appsv1.ReplicaSet:
		errs = append(errs, validateReplicaSetStatus(n)...)
	case *autoscalingv1.Scale:
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(n.Status.Replicas), statusPath.Child("replicas"))...)
	}
	return sortErrors(errs)
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
