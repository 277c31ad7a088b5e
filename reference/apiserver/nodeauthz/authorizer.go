package nodeauthz

import (
	"context"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/reference/apiserver/rbac"
)

// NodeLeaseNamespace holds every node's Lease, named as the node.
const NodeLeaseNamespace = "kube-node-lease"

// byNode indexes pods by spec.nodeName.
const byNode = "spec.nodeName"

// Authorizer is kube-apiserver's Node authorization mode (--authorization-mode=Node,RBAC). For
// a kubelet (system:node:NAME in system:nodes) it allows reading a Secret, ConfigMap or
// PersistentVolumeClaim, and reading or creating a token for a ServiceAccount, only when a pod bound to
// that node uses it; its own Lease in kube-node-lease; and everything else the system:node
// ClusterRole's rules allow. It has no opinion on other users, or when no rule applies, so the
// next authorizer (RBAC) decides. Start it once the server serves; until then it allows
// nothing.
type Authorizer struct {
	rules []rbacv1.PolicyRule
	pods  atomic.Pointer[cache.Indexer]
}

var _ authorizer.Authorizer = (*Authorizer)(nil)

// New returns an Authorizer that has not read any pod yet. It does not dial.
func New() *Authorizer { return &Authorizer{rules: rbac.NodeRules()} }

// Start reads the pods through the server's loopback configuration and returns once it has
// read them all; it keeps watching until ctx ends.
func (a *Authorizer) Start(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("node authorizer: %w", err)
	}
	return a.StartInformers(ctx, informers.NewSharedInformerFactory(client, 0))
}

// StartInformers reads the pods through factory's pod informer (it starts the factory) and
// returns once it has synced.
func (a *Authorizer) StartInformers(ctx context.Context, factory informers.SharedInformerFactory) error {
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{byNode: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return fmt.Errorf("node authorizer: %w", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("node authorizer: the pod informer did not sync: %w", ctx.Err())
	}
	idx := inf.GetIndexer()
	a.pods.Store(&idx)
	return nil
}

// Authorize implements authorizer.Authorizer.
func (a *Authorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	node, ok := NodeName(attrs.GetUser())
	if !ok {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if attrs.IsResourceRequest() && attrs.GetAPIGroup() == "" {
		switch attrs.GetResource() {
		case "secrets":
			return a.readNamespaced(node, secretRef, attrs)
		case "configmaps":
			return a.readNamespaced(node, configMapRef, attrs)
		case "persistentvolumeclaims":
			if attrs.GetSubresource() == "status" {
				return a.related(node, pvcRef, attrs, "get", "update", "patch")
			}
			return a.readNamespaced(node, pvcRef, attrs)
		case "serviceaccounts":
			if attrs.GetVerb() == "get" && attrs.GetSubresource() == "" {
				// The kubelet reads the ServiceAccount of a pod it requests a pod
				// certificate for (its UID goes into the PodCertificateRequest).
				return a.related(node, serviceAccountRef, attrs, "get")
			}
			return a.createToken(node, attrs)
		}
	}
	if attrs.IsResourceRequest() && attrs.GetAPIGroup() == "coordination.k8s.io" && attrs.GetResource() == "leases" {
		return a.lease(node, attrs)
	}
	if rbac.RulesAllow(attrs, a.rules...) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// readNamespaced allows get, list and watch of one named object a pod on the node uses.
func (a *Authorizer) readNamespaced(node string, kind refKind, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	switch attrs.GetVerb() {
	case "get", "list", "watch":
	default:
		return authorizer.DecisionNoOpinion, "can only read resources of this type", nil
	}
	if attrs.GetSubresource() != "" {
		return authorizer.DecisionNoOpinion, "cannot read subresource", nil
	}
	if attrs.GetNamespace() == "" {
		return authorizer.DecisionNoOpinion, "can only read namespaced object of this type", nil
	}
	return a.related(node, kind, attrs, attrs.GetVerb())
}

// createToken allows creating a token for a ServiceAccount a pod on the node runs as.
func (a *Authorizer) createToken(node string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if attrs.GetVerb() != "create" || attrs.GetName() == "" {
		return authorizer.DecisionNoOpinion, "can only create tokens for individual service accounts", nil
	}
	if attrs.GetSubresource() != "token" {
		return authorizer.DecisionNoOpinion, "can only create token subresource of serviceaccount", nil
	}
	return a.related(node, serviceAccountRef, attrs, "create")
}

// lease allows the node's own Lease in kube-node-lease.
func (a *Authorizer) lease(node string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	switch attrs.GetVerb() {
	case "get", "create", "update", "patch", "delete":
	default:
		return authorizer.DecisionNoOpinion, "can only get, create, update, patch, or delete a node lease", nil
	}
	if attrs.GetNamespace() != NodeLeaseNamespace {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("can only access leases in the %q system namespace", NodeLeaseNamespace), nil
	}
	// A create has no name in the request: NodeRestriction checks the object's.
	if attrs.GetVerb() != "create" && attrs.GetName() != node {
		return authorizer.DecisionNoOpinion, "can only access node lease with the same name as the requesting node", nil
	}
	return authorizer.DecisionAllow, "", nil
}

// related allows the request (one of verbs on one named object) when a pod bound to node uses
// the object.
func (a *Authorizer) related(node string, kind refKind, attrs authorizer.Attributes, verbs ...string) (authorizer.Decision, string, error) {
	allowedVerb := false
	for _, v := range verbs {
		allowedVerb = allowedVerb || attrs.GetVerb() == v
	}
	if !allowedVerb {
		return authorizer.DecisionNoOpinion, "can only read resources of this type", nil
	}
	if attrs.GetName() == "" {
		return authorizer.DecisionNoOpinion, "No Object name found", nil
	}
	idx := a.pods.Load()
	if idx == nil {
		return authorizer.DecisionNoOpinion, "node authorizer has not read the pods yet", nil
	}
	objs, err := (*idx).ByIndex(byNode, node)
	if err != nil {
		return authorizer.DecisionNoOpinion, "", err
	}
	for _, o := range objs {
		p, ok := o.(*corev1.Pod)
		if ok && p.Namespace == attrs.GetNamespace() && podReferences(p, kind, attrs.GetName()) {
			return authorizer.DecisionAllow, "", nil
		}
	}
	return authorizer.DecisionNoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
}

// ConditionsAwareAuthorize implements authorizer.Authorizer (the Node authorizer has no
// conditions).
func (a *Authorizer) ConditionsAwareAuthorize(ctx context.Context, attrs authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(a.Authorize(ctx, attrs))
}

// EvaluateConditions implements authorizer.Authorizer: the Node authorizer never returns
// conditions.
func (a *Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}
