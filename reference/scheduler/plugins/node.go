package plugins

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Reasons, in Kubernetes' wording.
const (
	ReasonUnschedulable  = "node(s) were unschedulable"
	ReasonAffinity       = "node(s) didn't match Pod's node affinity/selector"
	ReasonNodeName       = "node(s) didn't match the requested node name"
	taintUnschedulable   = "node.kubernetes.io/unschedulable"
	untoleratedTaintText = "node(s) had untolerated taint {%s: %s}"
)

// Unschedulable is the NodeUnschedulable filter: a cordoned node takes only
// pods tolerating the node.kubernetes.io/unschedulable:NoSchedule taint.
type Unschedulable struct{}

var _ interfaces.FilterPlugin = Unschedulable{}

// NewUnschedulable builds NodeUnschedulable.
func NewUnschedulable(interfaces.Handle) (interfaces.Plugin, error) { return Unschedulable{}, nil }

// Name implements interfaces.Plugin.
func (Unschedulable) Name() string { return NodeUnschedulableName }

// Filter rejects cordoned nodes.
func (Unschedulable) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	if !node.Node.Spec.Unschedulable {
		return nil
	}
	t := corev1.Taint{Key: taintUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	if tolerated(pod.Spec.Tolerations, &t) {
		return nil
	}
	return interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, ReasonUnschedulable)
}

// NodeName is the NodeName filter: a pod that names a node fits only there.
type NodeName struct{}

var _ interfaces.FilterPlugin = NodeName{}

// NewNodeName builds NodeName.
func NewNodeName(interfaces.Handle) (interfaces.Plugin, error) { return NodeName{}, nil }

// Name implements interfaces.Plugin.
func (NodeName) Name() string { return NodeNameName }

// Filter rejects every node but the named one.
func (NodeName) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	if pod.Spec.NodeName == "" || pod.Spec.NodeName == node.Node.Name {
		return nil
	}
	return interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, ReasonNodeName)
}

// Affinity is the NodeAffinity filter: nodeSelector and
// requiredDuringSchedulingIgnoredDuringExecution node affinity.
type Affinity struct{}

var _ interfaces.FilterPlugin = Affinity{}

// NewAffinity builds NodeAffinity.
func NewAffinity(interfaces.Handle) (interfaces.Plugin, error) { return Affinity{}, nil }

// Name implements interfaces.Plugin.
func (Affinity) Name() string { return NodeAffinityName }

// Filter rejects nodes that do not match.
func (Affinity) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	if MatchesNode(pod, node.Node) {
		return nil
	}
	return interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, ReasonAffinity)
}

// MatchesNode reports whether the node satisfies the pod's nodeSelector
// (every label equal) and its required node affinity (any one term whose
// every expression holds).
func MatchesNode(pod *corev1.Pod, node *corev1.Node) bool {
	for k, v := range pod.Spec.NodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(term, node) {
			return true
		}
	}
	return false
}

func termMatches(term corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false // an empty term matches nothing
	}
	set := labels.Set(node.Labels)
	for _, r := range term.MatchExpressions {
		if !requirementHolds(r, set.Has(r.Key), set.Get(r.Key)) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != "metadata.name" || !requirementHolds(r, true, node.Name) {
			return false
		}
	}
	return true
}

func requirementHolds(r corev1.NodeSelectorRequirement, has bool, value string) bool {
	in := func() bool {
		for _, v := range r.Values {
			if v == value {
				return true
			}
		}
		return false
	}
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return has && in()
	case corev1.NodeSelectorOpNotIn:
		return !has || !in()
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		got, err1 := strconv.ParseInt(value, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return got > want
		}
		return got < want
	}
	return false
}
