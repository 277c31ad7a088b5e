package registry

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// podCertificateResources is certificates.k8s.io/v1 PodCertificateRequest (GA and served by
// default in 1.37; v1beta1 is a beta API, off by default): namespaced, with a status
// subresource (the signer's) and the field selectors spec.signerName, spec.podName and
// spec.nodeName.
func podCertificateResources() []*Resource {
	certificates := certificatesv1.SchemeGroupVersion
	return []*Resource{{
		GroupVersionResource: certificates.WithResource("podcertificaterequests"), Singular: "podcertificaterequest", Namespaced: true,
		Kind: "PodCertificateRequest", ListKind: "PodCertificateRequestList", Strategy: validation.PodCertificateRequestKind(), Verbs: CRUDVerbs(),
		Subresources: []Subresource{statusSub(certificates.WithKind("PodCertificateRequest"))},
		New:          func() runtime.Object { return &certificatesv1.PodCertificateRequest{} },
		NewList:      func() runtime.Object { return &certificatesv1.PodCertificateRequestList{} },
		StatusSplit:  true,
		FieldLabels:  []string{"spec.signerName", "spec.podName", "spec.nodeName"},
		Fields: func(obj runtime.Object) fields.Set {
			r := obj.(*certificatesv1.PodCertificateRequest)
			return fields.Set{"spec.signerName": r.Spec.SignerName, "spec.podName": r.Spec.PodName, "spec.nodeName": string(r.Spec.NodeName)}
		},
	}}
}
