package registry

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// Default returns the registry of every resource clusterkit serves.
func Default() *Registry {
	r, err := New(DefaultResources())
	if err != nil {
		// The built-in table is static; a duplicate is a programming error caught by tests.
		panic(err)
	}
	return r
}

var (
	coreV1        = schema.GroupVersion{Version: "v1"}
	appsV1        = appsv1.SchemeGroupVersion
	autoscalingV1 = autoscalingv1.SchemeGroupVersion
	policyV1      = policyv1.SchemeGroupVersion
	// authenticationV1 serves TokenReview and SelfSubjectReview, and the TokenRequest kind.
	authenticationV1 = authenticationv1.SchemeGroupVersion
)

func statusSub(gvk schema.GroupVersionKind) Subresource {
	return Subresource{Name: "status", GroupVersionKind: gvk, Verbs: []string{"get", "patch", "update"}}
}

// DefaultResources returns fresh entries for every resource clusterkit serves.
func DefaultResources() []*Resource {
	out := []*Resource{
		{
			GroupVersionResource: coreV1.WithResource("namespaces"), Singular: "namespace",
			Kind: "Namespace", ListKind: "NamespaceList", Strategy: validation.NamespaceKind(), ShortNames: []string{"ns"},
			Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
			Subresources: []Subresource{
				{Name: "finalize", GroupVersionKind: coreV1.WithKind("Namespace"), Verbs: []string{"update"}},
				statusSub(coreV1.WithKind("Namespace")),
			},
			New: func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			StatusSplit: true,
			FieldLabels: []string{"status.phase"},
			Fields: func(obj runtime.Object) fields.Set {
				ns := obj.(*corev1.Namespace)
				return fields.Set{"status.phase": string(ns.Status.Phase)}
			},
		},
		{
			GroupVersionResource: coreV1.WithResource("nodes"), Singular: "node",
			Kind: "Node", ListKind: "NodeList", Strategy: validation.NodeKind(), ShortNames: []string{"no"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{
				{Name: "proxy", GroupVersionKind: coreV1.WithKind("NodeProxyOptions"), Verbs: []string{"create", "delete", "get", "patch", "update"}},
				statusSub(coreV1.WithKind("Node")),
			},
			New: func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
			StatusSplit: true,
			FieldLabels: []string{"spec.unschedulable"},
			Fields: func(obj runtime.Object) fields.Set {
				n := obj.(*corev1.Node)
				return fields.Set{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)}
			},
		},
		{
			GroupVersionResource: coreV1.WithResource("pods"), Singular: "pod", Namespaced: true,
			Kind: "Pod", ListKind: "PodList", TracksGeneration: true, Strategy: validation.PodKind(), ShortNames: []string{"po"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{
				{Name: "attach", GroupVersionKind: coreV1.WithKind("PodAttachOptions"), Verbs: []string{"create", "get"}},
				{Name: "binding", GroupVersionKind: coreV1.WithKind("Binding"), Verbs: []string{"create"}},
				{Name: "eviction", GroupVersionKind: policyV1.WithKind("Eviction"), Verbs: []string{"create"}},
				{Name: "ephemeralcontainers", GroupVersionKind: coreV1.WithKind("Pod"), Verbs: []string{"get", "patch", "update"}},
				{Name: "exec", GroupVersionKind: coreV1.WithKind("PodExecOptions"), Verbs: []string{"create", "get"}},
				{Name: "log", GroupVersionKind: coreV1.WithKind("Pod"), Verbs: []string{"get"}},
				{Name: "portforward", GroupVersionKind: coreV1.WithKind("PodPortForwardOptions"), Verbs: []string{"create", "get"}},
				{Name: "proxy", GroupVersionKind: coreV1.WithKind("PodProxyOptions"), Verbs: []string{"create", "delete", "get", "patch", "update"}},
				{Name: "resize", GroupVersionKind: coreV1.WithKind("Pod"), Verbs: []string{"get", "patch", "update"}},
				statusSub(coreV1.WithKind("Pod")),
			},
			New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
			StatusSplit: true,
			WatchIndex:  "spec.nodeName",
			FieldLabels: []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
				"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
			Fields: func(obj runtime.Object) fields.Set {
				p := obj.(*corev1.Pod)
				podIP := ""
				if len(p.Status.PodIPs) > 0 {
					podIP = p.Status.PodIPs[0].IP
				} else {
					podIP = p.Status.PodIP
				}
				return fields.Set{
					"spec.nodeName":            p.Spec.NodeName,
					"spec.restartPolicy":       string(p.Spec.RestartPolicy),
					"spec.schedulerName":       p.Spec.SchedulerName,
					"spec.serviceAccountName":  p.Spec.ServiceAccountName,
					"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
					"status.phase":             string(p.Status.Phase),
					"status.podIP":             podIP,
					"status.nominatedNodeName": p.Status.NominatedNodeName,
				}
			},
		},
		{
			GroupVersionResource: coreV1.WithResource("services"), Singular: "service", Namespaced: true,
			Kind: "Service", ListKind: "ServiceList", Strategy: validation.ServiceKind(), ShortNames: []string{"svc"}, Categories: []string{"all"},
			Verbs: CRUDVerbs(),
			Subresources: []Subresource{
				{Name: "proxy", GroupVersionKind: coreV1.WithKind("ServiceProxyOptions"), Verbs: []string{"create", "delete", "get", "patch", "update"}},
				statusSub(coreV1.WithKind("Service")),
			},
			New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: coreV1.WithResource("endpoints"), Singular: "endpoints", Namespaced: true,
			Kind: "Endpoints", ListKind: "EndpointsList", Strategy: validation.EndpointsKind(), ShortNames: []string{"ep"}, Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} },
		},
		{
			GroupVersionResource: coreV1.WithResource("events"), Singular: "event", Namespaced: true,
			Kind: "Event", ListKind: "EventList", Strategy: validation.EventKind(), ShortNames: []string{"ev"}, Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
			FieldLabels: []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
				"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
				"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"},
			Fields: func(obj runtime.Object) fields.Set {
				e := obj.(*corev1.Event)
				source := e.Source.Component
				if source == "" {
					source = e.ReportingController
				}
				return fields.Set{
					"involvedObject.kind":            e.InvolvedObject.Kind,
					"involvedObject.namespace":       e.InvolvedObject.Namespace,
					"involvedObject.name":            e.InvolvedObject.Name,
					"involvedObject.uid":             string(e.InvolvedObject.UID),
					"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
					"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
					"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
					"reason":                         e.Reason,
					"reportingComponent":             e.ReportingController,
					"source":                         source,
					"type":                           e.Type,
				}
			},
		},
		{
			GroupVersionResource: coreV1.WithResource("configmaps"), Singular: "configmap", Namespaced: true,
			Kind: "ConfigMap", ListKind: "ConfigMapList", Strategy: validation.ConfigMapKind(), ShortNames: []string{"cm"}, Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
		},
		{
			GroupVersionResource: coreV1.WithResource("secrets"), Singular: "secret", Namespaced: true,
			Kind: "Secret", ListKind: "SecretList", Strategy: validation.SecretKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &corev1.Secret{} }, NewList: func() runtime.Object { return &corev1.SecretList{} },
			FieldLabels: []string{"type"},
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
			},
		},
		{
			GroupVersionResource: coreV1.WithResource("serviceaccounts"), Singular: "serviceaccount", Namespaced: true,
			Kind: "ServiceAccount", ListKind: "ServiceAccountList", Strategy: validation.ServiceAccountKind(), ShortNames: []string{"sa"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{
				{Name: "token", GroupVersionKind: authenticationV1.WithKind("TokenRequest"), Verbs: []string{"create"}},
			},
			New: func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
		},
		{
			GroupVersionResource: appsV1.WithResource("deployments"), Singular: "deployment", Namespaced: true,
			Kind: "Deployment", ListKind: "DeploymentList", TracksGeneration: true, Strategy: validation.DeploymentKind(), ShortNames: []string{"deploy"}, Categories: []string{"all"},
			Verbs: CRUDVerbs(),
			Subresources: []Subresource{
				{Name: "scale", GroupVersionKind: autoscalingV1.WithKind("Scale"), Verbs: []string{"get", "patch", "update"}},
				statusSub(appsV1.WithKind("Deployment")),
			},
			New: func() runtime.Object { return &appsv1.Deployment{} }, NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
			StatusSplit: true,
			Scale: ReplicasScale(func(d *appsv1.Deployment) (*int32, int32, *metav1.LabelSelector) {
				return d.Spec.Replicas, d.Status.Replicas, d.Spec.Selector
			}, func(d *appsv1.Deployment, n int32) { d.Spec.Replicas = &n }),
		},
		{
			GroupVersionResource: appsV1.WithResource("replicasets"), Singular: "replicaset", Namespaced: true,
			Kind: "ReplicaSet", ListKind: "ReplicaSetList", TracksGeneration: true, Strategy: validation.ReplicaSetKind(), ShortNames: []string{"rs"}, Categories: []string{"all"},
			Verbs: CRUDVerbs(),
			Subresources: []Subresource{
				{Name: "scale", GroupVersionKind: autoscalingV1.WithKind("Scale"), Verbs: []string{"get", "patch", "update"}},
				statusSub(appsV1.WithKind("ReplicaSet")),
			},
			New: func() runtime.Object { return &appsv1.ReplicaSet{} }, NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
			StatusSplit: true,
			Scale: ReplicasScale(func(rs *appsv1.ReplicaSet) (*int32, int32, *metav1.LabelSelector) {
				return rs.Spec.Replicas, rs.Status.Replicas, rs.Spec.Selector
			}, func(rs *appsv1.ReplicaSet, n int32) { rs.Spec.Replicas = &n }),
			FieldLabels: []string{"status.replicas"},
			Fields: func(obj runtime.Object) fields.Set {
				rs := obj.(*appsv1.ReplicaSet)
				return fields.Set{"status.replicas": strconv.Itoa(int(rs.Status.Replicas))}
			},
		},
		{
			GroupVersionResource: coordinationv1.SchemeGroupVersion.WithResource("leases"), Singular: "lease", Namespaced: true,
			Kind: "Lease", ListKind: "LeaseList", Strategy: validation.LeaseKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} },
		},
		{
			GroupVersionResource: discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), Singular: "endpointslice", Namespaced: true,
			Kind: "EndpointSlice", ListKind: "EndpointSliceList", TracksGeneration: true, Strategy: validation.EndpointSliceKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &discoveryv1.EndpointSlice{} }, NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
			FieldLabels: []string{"addressType"},
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"addressType": string(obj.(*discoveryv1.EndpointSlice).AddressType)}
			},
		},
		{
			GroupVersionResource: authenticationV1.WithResource("tokenreviews"), Singular: "tokenreview",
			Kind: "TokenReview", ListKind: "TokenReviewList", Verbs: []string{"create"}, Ephemeral: true,
			New: func() runtime.Object { return &authenticationv1.TokenReview{} }, NewList: ephemeralList,
		},
		{
			GroupVersionResource: authenticationV1.WithResource("selfsubjectreviews"), Singular: "selfsubjectreview",
			Kind: "SelfSubjectReview", ListKind: "SelfSubjectReviewList", Verbs: []string{"create"}, Ephemeral: true,
			New: func() runtime.Object { return &authenticationv1.SelfSubjectReview{} }, NewList: ephemeralList,
		},
	}
	out = append(out, groupResources()...)
	out = append(out, admissionRegistrationResources()...)
	out = append(out, corePolicyResources()...)
	out = append(out, moreBuiltinResources()...)
	out = append(out, podCertificateResources()...)
	out = append(out, metricsResources()...)
	out = append(out, append(rbacResources(), authorizationResources()...)...)
	out = append(out, apiextensionsResources()...)
	return append(out, apiServices(out))
}

// rbacResources are rbac.authorization.k8s.io/v1's four kinds (no short names or categories,
// as kube-apiserver lists them).
func rbacResources() []*Resource {
	rbac := rbacv1.SchemeGroupVersion
	return []*Resource{
		{
			GroupVersionResource: rbac.WithResource("clusterrolebindings"), Singular: "clusterrolebinding",
			Kind: "ClusterRoleBinding", ListKind: "ClusterRoleBindingList", Strategy: validation.ClusterRoleBindingKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }, NewList: func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		},
		{
			GroupVersionResource: rbac.WithResource("clusterroles"), Singular: "clusterrole",
			Kind: "ClusterRole", ListKind: "ClusterRoleList", Strategy: validation.ClusterRoleKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &rbacv1.ClusterRole{} }, NewList: func() runtime.Object { return &rbacv1.ClusterRoleList{} },
		},
		{
			GroupVersionResource: rbac.WithResource("rolebindings"), Singular: "rolebinding", Namespaced: true,
			Kind: "RoleBinding", ListKind: "RoleBindingList", Strategy: validation.RoleBindingKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &rbacv1.RoleBinding{} }, NewList: func() runtime.Object { return &rbacv1.RoleBindingList{} },
		},
		{
			GroupVersionResource: rbac.WithResource("roles"), Singular: "role", Namespaced: true,
			Kind: "Role", ListKind: "RoleList", Strategy: validation.RoleKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &rbacv1.Role{} }, NewList: func() runtime.Object { return &rbacv1.RoleList{} },
		},
	}
}

// authorizationResources are authorization.k8s.io/v1's review kinds: create-only, answered by
// the server's authorizer and never stored.
func authorizationResources() []*Resource {
	authz := authorizationv1.SchemeGroupVersion
	create := func() []string { return []string{"create"} }
	return []*Resource{
		{
			GroupVersionResource: authz.WithResource("localsubjectaccessreviews"), Singular: "localsubjectaccessreview", Namespaced: true,
			Kind: "LocalSubjectAccessReview", Verbs: create(), Ephemeral: true,
			New: func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} },
		},
		{
			GroupVersionResource: authz.WithResource("selfsubjectaccessreviews"), Singular: "selfsubjectaccessreview",
			Kind: "SelfSubjectAccessReview", Verbs: create(), Ephemeral: true,
			New: func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} },
		},
		{
			GroupVersionResource: authz.WithResource("selfsubjectrulesreviews"), Singular: "selfsubjectrulesreview",
			Kind: "SelfSubjectRulesReview", Verbs: create(), Ephemeral: true,
			New: func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} },
		},
		{
			GroupVersionResource: authz.WithResource("subjectaccessreviews"), Singular: "subjectaccessreview",
			Kind: "SubjectAccessReview", Verbs: create(), Ephemeral: true,
			New: func() runtime.Object { return &authorizationv1.SubjectAccessReview{} },
		},
	}
}

// ephemeralList is the NewList of ephemeral resources, which are never listed.
func ephemeralList() runtime.Object { return &metav1.List{} }
