package nodeauthz

import (
	"context"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
)

var (
	serviceAccountsGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
)

// podCertificateRequest lets a kubelet create a PodCertificateRequest only for a pod bound
// to its own node: spec.nodeName and nodeUID are the kubelet's Node, and the pod (by name and
// UID) runs there as the named ServiceAccount (by name and UID) and mounts a podCertificate
// projected volume of the request's signer (as upstream's NodeRestriction). A kubelet may not write a
// request's status (that is the signer's) nor update or delete requests.
func (p *Restriction) podCertificateRequest(ctx context.Context, node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return admission.NewForbidden(a, fmt.Errorf("node %q may only create PodCertificateRequests", node))
	}
	req, ok := a.GetObject().(*certificatesv1.PodCertificateRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	s := &req.Spec
	if string(s.NodeName) != node {
		return admission.NewForbidden(a, fmt.Errorf("PodCertificateRequest spec.nodeName %q is not the requesting node %q", s.NodeName, node))
	}
	n, err := p.objects.Get(ctx, nodesGVR, "", node)
	if err != nil {
		return forbiddenUnlessNotFound(a, err)
	}
	if nd, ok := n.(*corev1.Node); !ok || nd.UID != s.NodeUID {
		return admission.NewForbidden(a, fmt.Errorf("PodCertificateRequest spec.nodeUID %q is not the UID of node %q", s.NodeUID, node))
	}
	pod, err := p.getPod(ctx, a.GetNamespace(), s.PodName)
	if err != nil {
		return forbiddenUnlessNotFound(a, err)
	}
	switch {
	case pod.UID != s.PodUID:
		return admission.NewForbidden(a, fmt.Errorf("PodCertificateRequest spec.podUID %q does not match pod %s/%s (UID %q)", s.PodUID, pod.Namespace, pod.Name, pod.UID))
	case pod.Spec.NodeName != node:
		return admission.NewForbidden(a, fmt.Errorf("pod %s/%s is not bound to node %q", pod.Namespace, pod.Name, node))
	case pod.Spec.ServiceAccountName != s.ServiceAccountName:
		return admission.NewForbidden(a, fmt.Errorf("PodCertificateRequest spec.serviceAccountName %q is not the ServiceAccount of pod %s/%s", s.ServiceAccountName, pod.Namespace, pod.Name))
	case !mountsPodCertificate(pod, s.SignerName):
		return admission.NewForbidden(a, fmt.Errorf("pod %q does not mount a podCertificate projected volume for signer %q", pod.Namespace+"/"+pod.Name, s.SignerName))
	}
	sa, err := p.objects.Get(ctx, serviceAccountsGVR, a.GetNamespace(), s.ServiceAccountName)
	if err != nil {
		return forbiddenUnlessNotFound(a, err)
	}
	if acct, ok := sa.(*corev1.ServiceAccount); !ok || acct.UID != s.ServiceAccountUID {
		return admission.NewForbidden(a, fmt.Errorf("PodCertificateRequest spec.serviceAccountUID %q is not the UID of ServiceAccount %s/%s", s.ServiceAccountUID, a.GetNamespace(), s.ServiceAccountName))
	}
	return nil
}

// mountsPodCertificate reports whether pod has a projected volume with a podCertificate source
// of signer: a kubelet requests certificates only for what its pods mount.
func mountsPodCertificate(pod *corev1.Pod, signer string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.PodCertificate != nil && src.PodCertificate.SignerName == signer {
				return true
			}
		}
	}
	return false
}
