package nodeauthz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	kubeletapis "k8s.io/kubelet/pkg/apis"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// PluginName is the admission plugin's name in kube-apiserver.
const PluginName = "NodeRestriction"

// mirrorPodAnnotation marks a pod the kubelet mirrors from a static manifest.
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

var (
	podsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	nodesGVR = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
)

// Restriction is kube-apiserver's NodeRestriction admission plugin: a kubelet may create only
// mirror pods of its own node that reference no other object, delete and update the status of
// only the pods bound to it, evict only those, write only its own Node (never its taints, nor
// kubernetes.io / k8s.io labels a kubelet may not set), its own Lease, and request tokens only
// bound to a pod on its node, for an audience of that pod's projected token volumes. It leaves
// everyone else alone.
type Restriction struct {
	*admission.Handler
	objects      apiserver.ObjectReader
	apiAudiences []string
}

var (
	_ admission.ValidationInterface     = (*Restriction)(nil)
	_ apiserver.WantsObjectReader       = (*Restriction)(nil)
	_ admission.InitializationValidator = (*Restriction)(nil)
)

// NewRestriction returns the plugin; the server hands it its object reader. apiAudiences are
// the API server's audiences: what a projected token volume without an audience stands for.
func NewRestriction(apiAudiences ...string) *Restriction {
	return &Restriction{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete), apiAudiences: apiAudiences}
}

// SetObjectReader implements apiserver.WantsObjectReader.
func (p *Restriction) SetObjectReader(r apiserver.ObjectReader) { p.objects = r }

// ValidateInitialization implements admission.InitializationValidator.
func (p *Restriction) ValidateInitialization() error {
	if p.objects == nil {
		return errors.New("NodeRestriction: no object reader")
	}
	return nil
}

// Validate implements admission.ValidationInterface.
func (p *Restriction) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	node, isNode := NodeName(a.GetUserInfo())
	if !isNode {
		if u := a.GetUserInfo(); u != nil && strings.HasPrefix(u.GetName(), NodeUserPrefix) && slices.Contains(u.GetGroups(), NodesGroup) {
			return admission.NewForbidden(a, fmt.Errorf("could not determine node from user %q", u.GetName()))
		}
		return nil
	}
	gr := a.GetResource().GroupResource()
	switch {
	case gr.Group == "" && gr.Resource == "pods":
		switch a.GetSubresource() {
		case "":
			return p.pod(ctx, node, a)
		case "status":
			return p.podStatus(node, a)
		case "eviction":
			return p.podEviction(ctx, node, a)
		default:
			return admission.NewForbidden(a, fmt.Errorf("unexpected pod subresource %q, only 'status' and 'eviction' are allowed", a.GetSubresource()))
		}
	case gr.Group == "" && gr.Resource == "nodes":
		return nodeWrite(node, a)
	case gr.Group == "" && gr.Resource == "persistentvolumeclaims":
		if a.GetSubresource() != "status" {
			return admission.NewForbidden(a, errors.New("may only update PVC status"))
		}
		return nil
	case gr.Group == "" && gr.Resource == "serviceaccounts":
		return p.token(ctx, node, a)
	case gr.Group == "coordination.k8s.io" && gr.Resource == "leases":
		return lease(node, a)
	case gr.Group == "certificates.k8s.io" && gr.Resource == "podcertificaterequests":
		return p.podCertificateRequest(ctx, node, a)
	}
	return nil
}

// pod allows creating mirror pods of the node and deleting pods bound to it.
func (p *Restriction) pod(ctx context.Context, node string, a admission.Attributes) error {
	switch a.GetOperation() {
	case admission.Create:
		pod, ok := a.GetObject().(*corev1.Pod)
		if !ok {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
		}
		return p.mirrorPod(ctx, node, a, pod)
	case admission.Delete:
		existing, err := p.getPod(ctx, a.GetNamespace(), a.GetName())
		if err != nil {
			return forbiddenUnlessNotFound(a, err)
		}
		if existing.Spec.NodeName != node {
			return admission.NewForbidden(a, fmt.Errorf("node %q can only delete pods with spec.nodeName set to itself", node))
		}
		return nil
	}
	return admission.NewForbidden(a, fmt.Errorf("unexpected operation %q, node %q can only create and delete mirror pods", a.GetOperation(), node))
}

// mirrorPod checks a pod a node creates: a mirror pod bound to the node, owned by it, using
// no ServiceAccount, Secret, ConfigMap or claim.
func (p *Restriction) mirrorPod(ctx context.Context, node string, a admission.Attributes, pod *corev1.Pod) error {
	forbid := func(format string, args ...any) error { return admission.NewForbidden(a, fmt.Errorf(format, args...)) }
	if _, mirror := pod.Annotations[mirrorPodAnnotation]; !mirror {
		return forbid("pod does not have %q annotation, node %q can only create mirror pods", mirrorPodAnnotation, node)
	}
	if pod.Spec.NodeName != node {
		return forbid("node %q can only create pods with spec.nodeName set to itself", node)
	}
	switch len(pod.OwnerReferences) {
	case 0:
		return forbid("node %q can only create pods with an owner reference set to itself", node)
	case 1:
	default:
		return forbid("node %q can only create pods with a single owner reference set to itself", node)
	}
	owner := pod.OwnerReferences[0]
	if owner.APIVersion != "v1" || owner.Kind != "Node" || owner.Name != node {
		return forbid("node %q can only create pods with an owner reference set to itself", node)
	}
	if owner.Controller == nil || !*owner.Controller {
		return forbid("node %q can only create pods with a controller owner reference set to itself", node)
	}
	if owner.BlockOwnerDeletion != nil && *owner.BlockOwnerDeletion {
		return forbid("node %q must not set blockOwnerDeletion on an owner reference", node)
	}
	obj, err := p.objects.Get(ctx, nodesGVR, "", node)
	if err != nil {
		return forbiddenUnlessNotFound(a, err)
	}
	if n, ok := obj.(*corev1.Node); ok && n.UID != owner.UID {
		return forbid("node %s UID mismatch: expected %s got %s", node, owner.UID, n.UID)
	}
	if pod.Spec.ServiceAccountName != "" {
		return forbid("node %q can not create pods that reference a service account", node)
	}
	if usesAny(pod, secretRef) {
		return forbid("node %q can not create pods that reference secrets", node)
	}
	if usesAny(pod, configMapRef) {
		return forbid("node %q can not create pods that reference configmaps", node)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ClusterTrustBundle != nil {
					return forbid("node %q can not create pods that reference clustertrustbundles", node)
				}
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			return forbid("node %q can not create pods that reference persistentvolumeclaims", node)
		}
	}
	return nil
}

// usesAny reports whether the pod references any object of kind.
func usesAny(pod *corev1.Pod, kind refKind) bool { return len(podObjectNames(pod, kind)) > 0 }

// podStatus allows a status update of a pod bound to the node that keeps its labels.
func (p *Restriction) podStatus(node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Update {
		return admission.NewForbidden(a, fmt.Errorf("unexpected operation %q", a.GetOperation()))
	}
	old, ok := a.GetOldObject().(*corev1.Pod)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetOldObject()))
	}
	if old.Spec.NodeName != node {
		return admission.NewForbidden(a, fmt.Errorf("node %q can only update pod status for pods with spec.nodeName set to itself", node))
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	if !labels.Equals(old.Labels, pod.Labels) {
		return admission.NewForbidden(a, fmt.Errorf("node %q cannot update labels through pod status", node))
	}
	return nil
}

// podEviction allows evicting a pod bound to the node.
func (p *Restriction) podEviction(ctx context.Context, node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return admission.NewForbidden(a, fmt.Errorf("unexpected operation %s", a.GetOperation()))
	}
	existing, err := p.getPod(ctx, a.GetNamespace(), a.GetName())
	if err != nil {
		return forbiddenUnlessNotFound(a, err)
	}
	if existing.Spec.NodeName != node {
		return admission.NewForbidden(a, fmt.Errorf("node %s can only evict pods with spec.nodeName set to itself", node))
	}
	return nil
}

// nodeWrite allows writes of the node's own Node that keep its taints and set only the labels
// a kubelet may set.
func nodeWrite(node string, a admission.Attributes) error {
	if a.GetName() != node {
		return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to modify node %q", node, a.GetName()))
	}
	switch a.GetOperation() {
	case admission.Create:
		n, ok := a.GetObject().(*corev1.Node)
		if !ok {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
		}
		if n.Spec.ConfigSource != nil {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to create pods with a non-nil configSource", node))
		}
		if bad := forbiddenLabels(n.Labels, nil); len(bad) > 0 {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to set the following labels: %s", node, strings.Join(bad, ", ")))
		}
	case admission.Update:
		n, ok := a.GetObject().(*corev1.Node)
		old, oldOK := a.GetOldObject().(*corev1.Node)
		if !ok || !oldOK {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
		}
		if n.Spec.ConfigSource != nil && !apiequality.Semantic.DeepEqual(n.Spec.ConfigSource, old.Spec.ConfigSource) {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to update configSource to a new non-nil configSource", node))
		}
		if !apiequality.Semantic.DeepEqual(n.Spec.Taints, old.Spec.Taints) {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to modify taints", node))
		}
		if bad := forbiddenLabels(n.Labels, old.Labels); len(bad) > 0 {
			return admission.NewForbidden(a, fmt.Errorf("is not allowed to modify labels: %s", strings.Join(bad, ", ")))
		}
	}
	return nil
}

// forbiddenLabels returns, sorted, the label keys added, changed or removed between old and
// now that a kubelet may not touch: node-restriction.kubernetes.io ones, and kubernetes.io or
// k8s.io ones that are not kubelet labels.
func forbiddenLabels(now, old map[string]string) []string {
	modified := map[string]bool{}
	for k, v := range now {
		if o, ok := old[k]; !ok || o != v {
			modified[k] = true
		}
	}
	for k, v := range old {
		if n, ok := now[k]; !ok || n != v {
			modified[k] = true
		}
	}
	var bad []string
	for k := range modified {
		ns, _, found := strings.Cut(k, "/")
		if !found {
			continue
		}
		restricted := ns == corev1.LabelNamespaceNodeRestriction || strings.HasSuffix(ns, "."+corev1.LabelNamespaceNodeRestriction)
		kube := ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")
		if restricted || (kube && !kubeletapis.IsKubeletLabel(k)) {
			bad = append(bad, k)
		}
	}
	slices.Sort(bad)
	return bad
}

// token allows a node's TokenRequest only when it is bound to a pod on the node.
func (p *Restriction) token(ctx context.Context, node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create || a.GetSubresource() != "token" {
		return nil
	}
	tr, ok := a.GetObject().(*authenticationv1.TokenRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	ref := tr.Spec.BoundObjectRef
	if ref == nil || ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Name == "" {
		return admission.NewForbidden(a, errors.New("node requested token not bound to a pod"))
	}
	if ref.UID == "" {
		return admission.NewForbidden(a, errors.New("node requested token with a pod binding without a uid"))
	}
	pod, err := p.getPod(ctx, a.GetNamespace(), ref.Name)
	if err != nil {
		return forbiddenUnlessNotFound(a, err)
	}
	if ref.UID != pod.UID {
		return admission.NewForbidden(a, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	if pod.Spec.NodeName != node {
		return admission.NewForbidden(a, errors.New("node requested token bound to a pod scheduled on a different node"))
	}
	// Only for audiences the pod's projected token volumes ask for ("" is the API server's).
	audiences := tr.Spec.Audiences
	if len(audiences) == 0 {
		audiences = []string{""}
	}
	allowed := podTokenAudiences(pod, p.apiAudiences)
	for _, aud := range audiences {
		if !allowed[aud] {
			return admission.NewForbidden(a, fmt.Errorf("%s is not authorized to request tokens for audience %q", a.GetUserInfo().GetName(), aud))
		}
	}
	return nil
}

// podTokenAudiences are the audiences of the pod's projected ServiceAccount token volumes; a
// volume without one stands for the API server's audiences.
func podTokenAudiences(pod *corev1.Pod, apiAudiences []string) map[string]bool {
	out := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken == nil {
				continue
			}
			out[s.ServiceAccountToken.Audience] = true
			if s.ServiceAccountToken.Audience == "" {
				for _, a := range apiAudiences {
					out[a] = true
				}
			}
		}
	}
	return out
}

// lease allows the node's own Lease in kube-node-lease.
func lease(node string, a admission.Attributes) error {
	if a.GetNamespace() != NodeLeaseNamespace {
		return admission.NewForbidden(a, fmt.Errorf("can only access leases in the %q system namespace", NodeLeaseNamespace))
	}
	name := a.GetName()
	if a.GetOperation() == admission.Create {
		l, ok := a.GetObject().(*coordinationv1.Lease)
		if !ok {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
		}
		name = l.Name
	}
	if name != node {
		return admission.NewForbidden(a, errors.New("can only access node lease with the same name as the requesting node"))
	}
	return nil
}

func (p *Restriction) getPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	obj, err := p.objects.Get(ctx, podsGVR, namespace, name)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("unexpected type %T", obj)
	}
	return pod, nil
}

// forbiddenUnlessNotFound keeps a NotFound as is (as upstream does) and forbids otherwise.
func forbiddenUnlessNotFound(a admission.Attributes, err error) error {
	if apierrors.IsNotFound(err) {
		return err
	}
	return admission.NewForbidden(a, err)
}
