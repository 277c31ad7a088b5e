package registry

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// moreBuiltinResources are core/v1 bindings, PersistentVolume and PersistentVolumeClaim,
// autoscaling/v2 HorizontalPodAutoscaler, networking.k8s.io/v1 Ingress, IngressClass and
// NetworkPolicy, and storage.k8s.io/v1's StorageClass, CSIDriver, CSINode, VolumeAttachment,
// CSIStorageCapacity and VolumeAttributesClass, and certificates.k8s.io/v1 ClusterTrustBundle
// (GA and on by default in 1.37), with kube-apiserver's short names,
// categories and status subresources.
func moreBuiltinResources() []*Resource {
	autoscalingV2 := autoscalingv2.SchemeGroupVersion
	networking := networkingv1.SchemeGroupVersion
	storage := storagev1.SchemeGroupVersion
	certificates := certificatesv1.SchemeGroupVersion
	return []*Resource{
		{
			// The legacy create-only namespaces/NS/bindings (the server routes it to the pods'
			// binding); the entry lists it in discovery as kube-apiserver does.
			GroupVersionResource: coreV1.WithResource("bindings"), Singular: "binding", Namespaced: true,
			Kind: "Binding", Verbs: []string{"create"}, Ephemeral: true,
			New: func() runtime.Object { return &corev1.Binding{} },
		},
		{
			GroupVersionResource: certificates.WithResource("clustertrustbundles"), Singular: "clustertrustbundle",
			Kind: "ClusterTrustBundle", ListKind: "ClusterTrustBundleList", Strategy: validation.ClusterTrustBundleKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &certificatesv1.ClusterTrustBundle{} }, NewList: func() runtime.Object { return &certificatesv1.ClusterTrustBundleList{} },
			FieldLabels: []string{"spec.signerName"},
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"spec.signerName": obj.(*certificatesv1.ClusterTrustBundle).Spec.SignerName}
			},
		},
		{
			GroupVersionResource: coreV1.WithResource("persistentvolumes"), Singular: "persistentvolume",
			Kind: "PersistentVolume", ListKind: "PersistentVolumeList", Strategy: validation.PersistentVolumeKind(),
			ShortNames: []string{"pv"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(coreV1.WithKind("PersistentVolume"))},
			New:          func() runtime.Object { return &corev1.PersistentVolume{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: coreV1.WithResource("persistentvolumeclaims"), Singular: "persistentvolumeclaim", Namespaced: true,
			Kind: "PersistentVolumeClaim", ListKind: "PersistentVolumeClaimList", Strategy: validation.PersistentVolumeClaimKind(),
			ShortNames: []string{"pvc"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(coreV1.WithKind("PersistentVolumeClaim"))},
			New:          func() runtime.Object { return &corev1.PersistentVolumeClaim{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: autoscalingV2.WithResource("horizontalpodautoscalers"), Singular: "horizontalpodautoscaler", Namespaced: true,
			Kind: "HorizontalPodAutoscaler", ListKind: "HorizontalPodAutoscalerList", Strategy: validation.HorizontalPodAutoscalerKind(),
			ShortNames: []string{"hpa"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(autoscalingV2.WithKind("HorizontalPodAutoscaler"))},
			New:          func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }, NewList: func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: networking.WithResource("ingressclasses"), Singular: "ingressclass",
			Kind: "IngressClass", ListKind: "IngressClassList", Strategy: validation.IngressClassKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &networkingv1.IngressClass{} }, NewList: func() runtime.Object { return &networkingv1.IngressClassList{} },
		},
		{
			GroupVersionResource: networking.WithResource("ingresses"), Singular: "ingress", Namespaced: true,
			Kind: "Ingress", ListKind: "IngressList", Strategy: validation.IngressKind(), ShortNames: []string{"ing"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(networking.WithKind("Ingress"))},
			New:          func() runtime.Object { return &networkingv1.Ingress{} }, NewList: func() runtime.Object { return &networkingv1.IngressList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: networking.WithResource("networkpolicies"), Singular: "networkpolicy", Namespaced: true,
			Kind: "NetworkPolicy", ListKind: "NetworkPolicyList", Strategy: validation.NetworkPolicyKind(), ShortNames: []string{"netpol"}, Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &networkingv1.NetworkPolicy{} }, NewList: func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
		},
		{
			GroupVersionResource: storage.WithResource("csidrivers"), Singular: "csidriver",
			Kind: "CSIDriver", ListKind: "CSIDriverList", Strategy: validation.CSIDriverKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &storagev1.CSIDriver{} }, NewList: func() runtime.Object { return &storagev1.CSIDriverList{} },
		},
		{
			GroupVersionResource: storage.WithResource("csinodes"), Singular: "csinode",
			Kind: "CSINode", ListKind: "CSINodeList", Strategy: validation.CSINodeKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &storagev1.CSINode{} }, NewList: func() runtime.Object { return &storagev1.CSINodeList{} },
		},
		{
			GroupVersionResource: storage.WithResource("csistoragecapacities"), Singular: "csistoragecapacity", Namespaced: true,
			Kind: "CSIStorageCapacity", ListKind: "CSIStorageCapacityList", Strategy: validation.CSIStorageCapacityKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &storagev1.CSIStorageCapacity{} }, NewList: func() runtime.Object { return &storagev1.CSIStorageCapacityList{} },
		},
		{
			GroupVersionResource: storage.WithResource("storageclasses"), Singular: "storageclass",
			Kind: "StorageClass", ListKind: "StorageClassList", Strategy: validation.StorageClassKind(), ShortNames: []string{"sc"}, Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &storagev1.StorageClass{} }, NewList: func() runtime.Object { return &storagev1.StorageClassList{} },
		},
		{
			GroupVersionResource: storage.WithResource("volumeattachments"), Singular: "volumeattachment",
			Kind: "VolumeAttachment", ListKind: "VolumeAttachmentList", Strategy: validation.VolumeAttachmentKind(), Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(storage.WithKind("VolumeAttachment"))},
			New:          func() runtime.Object { return &storagev1.VolumeAttachment{} }, NewList: func() runtime.Object { return &storagev1.VolumeAttachmentList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: storage.WithResource("volumeattributesclasses"), Singular: "volumeattributesclass",
			Kind: "VolumeAttributesClass", ListKind: "VolumeAttributesClassList", Strategy: validation.VolumeAttributesClassKind(),
			ShortNames: []string{"vac"}, Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &storagev1.VolumeAttributesClass{} }, NewList: func() runtime.Object { return &storagev1.VolumeAttributesClassList{} },
		},
	}
}
