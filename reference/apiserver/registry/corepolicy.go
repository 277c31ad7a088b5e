package registry

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// corePolicyResources are core/v1 PodTemplate, ReplicationController (status and scale),
// LimitRange and ResourceQuota (status), with kube-apiserver's short names and categories.
func corePolicyResources() []*Resource {
	return []*Resource{
		{
			GroupVersionResource: coreV1.WithResource("podtemplates"), Singular: "podtemplate", Namespaced: true,
			Kind: "PodTemplate", ListKind: "PodTemplateList", TracksGeneration: true, Strategy: validation.PodTemplateKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &corev1.PodTemplate{} }, NewList: func() runtime.Object { return &corev1.PodTemplateList{} },
		},
		{
			GroupVersionResource: coreV1.WithResource("replicationcontrollers"), Singular: "replicationcontroller", Namespaced: true,
			Kind: "ReplicationController", ListKind: "ReplicationControllerList", TracksGeneration: true, Strategy: validation.ReplicationControllerKind(),
			ShortNames: []string{"rc"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{
				{Name: "scale", GroupVersionKind: autoscalingV1.WithKind("Scale"), Verbs: []string{"get", "patch", "update"}},
				statusSub(coreV1.WithKind("ReplicationController")),
			},
			New:         func() runtime.Object { return &corev1.ReplicationController{} },
			NewList:     func() runtime.Object { return &corev1.ReplicationControllerList{} },
			StatusSplit: true,
			Scale: ReplicasScale(func(rc *corev1.ReplicationController) (*int32, int32, *metav1.LabelSelector) {
				return rc.Spec.Replicas, rc.Status.Replicas, &metav1.LabelSelector{MatchLabels: rc.Spec.Selector}
			}, func(rc *corev1.ReplicationController, n int32) { rc.Spec.Replicas = &n }),
			FieldLabels: []string{"status.replicas"},
			Fields: func(obj runtime.Object) fields.Set {
				rc := obj.(*corev1.ReplicationController)
				return fields.Set{"status.replicas": strconv.Itoa(int(rc.Status.Replicas))}
			},
		},
		{
			GroupVersionResource: coreV1.WithResource("limitranges"), Singular: "limitrange", Namespaced: true,
			Kind: "LimitRange", ListKind: "LimitRangeList", Strategy: validation.LimitRangeKind(), ShortNames: []string{"limits"},
			Verbs: CRUDVerbs(),
			New:   func() runtime.Object { return &corev1.LimitRange{} }, NewList: func() runtime.Object { return &corev1.LimitRangeList{} },
		},
		{
			GroupVersionResource: coreV1.WithResource("resourcequotas"), Singular: "resourcequota", Namespaced: true,
			Kind: "ResourceQuota", ListKind: "ResourceQuotaList", Strategy: validation.ResourceQuotaKind(), ShortNames: []string{"quota"},
			Verbs:        CRUDVerbs(),
			Subresources: []Subresource{statusSub(coreV1.WithKind("ResourceQuota"))},
			New:          func() runtime.Object { return &corev1.ResourceQuota{} },
			NewList:      func() runtime.Object { return &corev1.ResourceQuotaList{} },
			StatusSplit:  true,
		},
	}
}
