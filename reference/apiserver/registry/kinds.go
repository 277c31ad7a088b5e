package registry

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
	"github.com/clusterkit/clusterkit/reference/apiserver/versions"
)

// moreBuiltinResources are core/v1 bindings, PersistentVolume and PersistentVolumeClaim,
// autoscaling/v2 HorizontalPodAutoscaler (and v1, converted), networking.k8s.io/v1 Ingress, IngressClass and
// NetworkPolicy, and storage.k8s.io/v1's StorageClass, CSIDriver, CSINode, VolumeAttachment,
// CSIStorageCapacity and VolumeAttributesClass, and certificates.k8s.io/v1 ClusterTrustBundle
// (GA and on by default in 1.37), with kube-apiserver's short names,
// categories and status subresources.
func moreBuiltinResources() []*Resource {
	autoscalingV1, autoscalingV2 := autoscalingv1.SchemeGroupVersion, autoscalingv2.SchemeGroupVersion
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
			Kind: "HorizontalPodAutoscaler", ListKind: "HorizontalPodAutoscalerList", TracksGeneration: true, Strategy: validation.HorizontalPodAutoscalerKind(),
			ShortNames: []string{"hpa"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(autoscalingV2.WithKind("HorizontalPodAutoscaler"))},
			New:          func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }, NewList: func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
			StatusSplit: true,
		},
		{
			// autoscaling/v1, stored as v2: what v1 cannot express travels in upstream's
			// round-trip annotations (package versions).
			GroupVersionResource: autoscalingV1.WithResource("horizontalpodautoscalers"), Singular: "horizontalpodautoscaler", Namespaced: true,
			Kind: "HorizontalPodAutoscaler", ListKind: "HorizontalPodAutoscalerList", TracksGeneration: true,
			Strategy:   ConvertedStrategy(validation.HorizontalPodAutoscalerKind(), versions.HPAToV2, versions.HPAToV1),
			Converter:  versions.HPAV1{},
			ShortNames: []string{"hpa"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(autoscalingV1.WithKind("HorizontalPodAutoscaler"))},
			New:          func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscaler{} }, NewList: func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscalerList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: networking.WithResource("ingressclasses"), Singular: "ingressclass",
			Kind: "IngressClass", ListKind: "IngressClassList", TracksGeneration: true, Strategy: validation.IngressClassKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &networkingv1.IngressClass{} }, NewList: func() runtime.Object { return &networkingv1.IngressClassList{} },
		},
		{
			GroupVersionResource: networking.WithResource("ingresses"), Singular: "ingress", Namespaced: true,
			Kind: "Ingress", ListKind: "IngressList", TracksGeneration: true, Strategy: validation.IngressKind(), ShortNames: []string{"ing"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(networking.WithKind("Ingress"))},
			New:          func() runtime.Object { return &networkingv1.Ingress{} }, NewList: func() runtime.Object { return &networkingv1.IngressList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: networking.WithResource("networkpolicies"), Singular: "networkpolicy", Namespaced: true,
			Kind: "NetworkPolicy", ListKind: "NetworkPolicyList", TracksGeneration: true, Strategy: validation.NetworkPolicyKind(), ShortNames: []string{"netpol"}, Verbs: CRUDVerbs(),
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
			Subresources: []Subresource{statusSub(storage.WithKind("CSINode"))},
			New:          func() runtime.Object { return &storagev1.CSINode{} }, NewList: func() runtime.Object { return &storagev1.CSINodeList{} },
			StatusSplit: true,
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
		{
			// events.k8s.io/v1: the core/v1 Events seen through the newer API (one storage), the
			// field selectors by the core names and by this version's.
			GroupVersionResource: eventsv1.SchemeGroupVersion.WithResource("events"), Singular: "event", Namespaced: true,
			Kind: "Event", ListKind: "EventList", ShortNames: []string{"ev"}, Verbs: CRUDVerbs(),
			Strategy:  ConvertedStrategy(validation.EventsV1EventKind(), versions.EventToCore, versions.EventToV1),
			Converter: versions.EventsV1{},
			New:       func() runtime.Object { return &eventsv1.Event{} }, NewList: func() runtime.Object { return &eventsv1.EventList{} },
			FieldLabels: []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
				"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
				"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
				"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "regarding.apiVersion",
				"regarding.resourceVersion", "regarding.fieldPath", "reportingController", "deprecatedSource"},
			Fields: func(obj runtime.Object) fields.Set {
				e := obj.(*eventsv1.Event)
				source := e.DeprecatedSource.Component
				if source == "" {
					source = e.ReportingController
				}
				set := fields.Set{"reason": e.Reason, "type": e.Type, "reportingComponent": e.ReportingController,
					"reportingController": e.ReportingController, "source": source, "deprecatedSource": source}
				for _, p := range []string{"involvedObject.", "regarding."} {
					set[p+"kind"], set[p+"namespace"], set[p+"name"] = e.Regarding.Kind, e.Regarding.Namespace, e.Regarding.Name
					set[p+"uid"], set[p+"apiVersion"] = string(e.Regarding.UID), e.Regarding.APIVersion
					set[p+"resourceVersion"], set[p+"fieldPath"] = e.Regarding.ResourceVersion, e.Regarding.FieldPath
				}
				return set
			},
		},
	}
}
