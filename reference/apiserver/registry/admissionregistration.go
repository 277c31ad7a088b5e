package registry

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// admissionRegistrationResources are admissionregistration.k8s.io/v1's kinds, as kube-apiserver
// serves them: the webhook configurations, MutatingAdmissionPolicy and its binding, and
// ValidatingAdmissionPolicy (with its status subresource) and its binding, all cluster-scoped
// and in the api-extensions category.
func admissionRegistrationResources() []*Resource {
	gv := admissionregistrationv1.SchemeGroupVersion
	ext := []string{"api-extensions"}
	return []*Resource{
		{
			GroupVersionResource: gv.WithResource("mutatingwebhookconfigurations"), Singular: "mutatingwebhookconfiguration",
			Kind: "MutatingWebhookConfiguration", ListKind: "MutatingWebhookConfigurationList", TracksGeneration: true, Categories: ext,
			Strategy: validation.MutatingWebhookConfigurationKind(), Verbs: CRUDVerbs(),
			New:     func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfiguration{} },
			NewList: func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfigurationList{} },
		},
		{
			GroupVersionResource: gv.WithResource("mutatingadmissionpolicies"), Singular: "mutatingadmissionpolicy",
			Kind: "MutatingAdmissionPolicy", ListKind: "MutatingAdmissionPolicyList", TracksGeneration: true, Categories: ext,
			Strategy: validation.MutatingAdmissionPolicyKind(), Verbs: CRUDVerbs(),
			New:     func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicy{} },
			NewList: func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyList{} },
		},
		{
			GroupVersionResource: gv.WithResource("mutatingadmissionpolicybindings"), Singular: "mutatingadmissionpolicybinding",
			Kind: "MutatingAdmissionPolicyBinding", ListKind: "MutatingAdmissionPolicyBindingList", TracksGeneration: true, Categories: ext,
			Strategy: validation.MutatingAdmissionPolicyBindingKind(), Verbs: CRUDVerbs(),
			New:     func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBinding{} },
			NewList: func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBindingList{} },
		},
		{
			GroupVersionResource: gv.WithResource("validatingadmissionpolicies"), Singular: "validatingadmissionpolicy",
			Kind: "ValidatingAdmissionPolicy", ListKind: "ValidatingAdmissionPolicyList", TracksGeneration: true, Categories: ext,
			Strategy: validation.ValidatingAdmissionPolicyKind(), Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(gv.WithKind("ValidatingAdmissionPolicy"))},
			StatusSplit:  true,
			New:          func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
			NewList:      func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} },
		},
		{
			GroupVersionResource: gv.WithResource("validatingadmissionpolicybindings"), Singular: "validatingadmissionpolicybinding",
			Kind: "ValidatingAdmissionPolicyBinding", ListKind: "ValidatingAdmissionPolicyBindingList", TracksGeneration: true, Categories: ext,
			Strategy: validation.ValidatingAdmissionPolicyBindingKind(), Verbs: CRUDVerbs(),
			New:     func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
			NewList: func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} },
		},
		{
			GroupVersionResource: gv.WithResource("validatingwebhookconfigurations"), Singular: "validatingwebhookconfiguration",
			Kind: "ValidatingWebhookConfiguration", ListKind: "ValidatingWebhookConfigurationList", TracksGeneration: true, Categories: ext,
			Strategy: validation.ValidatingWebhookConfigurationKind(), Verbs: CRUDVerbs(),
			New:     func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfiguration{} },
			NewList: func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfigurationList{} },
		},
	}
}
