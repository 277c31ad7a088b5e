package plugins

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// TaintToleration filters nodes with a NoSchedule or NoExecute taint the pod
// does not tolerate, and scores nodes lower for each PreferNoSchedule taint
// it does not tolerate.
type TaintToleration struct{}

var (
	_ interfaces.FilterPlugin    = TaintToleration{}
	_ interfaces.ScorePlugin     = TaintToleration{}
	_ interfaces.ScoreNormalizer = TaintToleration{}
)

// NewTaintToleration builds TaintToleration.
func NewTaintToleration(interfaces.Handle) (interfaces.Plugin, error) { return TaintToleration{}, nil }

// Name implements interfaces.Plugin.
func (TaintToleration) Name() string { return TaintTolerationName }

// Filter rejects the node at its first untolerated NoSchedule or NoExecute
// taint, naming it like Kubernetes does.
func (TaintToleration) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	for i := range node.Node.Spec.Taints {
		t := &node.Node.Spec.Taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerated(pod.Spec.Tolerations, t) {
			return interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, fmt.Sprintf(untoleratedTaintText, t.Key, t.Value))
		}
	}
	return nil
}

// Score is the number of PreferNoSchedule taints of the node the pod does
// not tolerate; NormalizeScore turns the counts around, as kube-scheduler:
// the node with the most such taints scores 0, one without any 100, the
// others in proportion (100 − 100 × count / most).
func (TaintToleration) Score(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	n := int64(0)
	for i := range node.Node.Spec.Taints {
		t := &node.Node.Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !tolerated(pod.Spec.Tolerations, t) {
			n++
		}
	}
	return n, nil
}

// NormalizeScore implements interfaces.ScoreNormalizer.
func (TaintToleration) NormalizeScore(_ context.Context, _ *corev1.Pod, scores []int64) *interfaces.Status {
	NormalizeToMax(scores, true)
	return nil
}

// tolerated reports whether any toleration matches the taint: same effect
// (or an empty effect), and the key (empty key with Exists matches all)
// with Exists, or Equal and the same value.
func tolerated(tolerations []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tolerations {
		tol := &tolerations[i]
		if tol.Effect != "" && tol.Effect != t.Effect {
			continue
		}
		if tol.Key != "" && tol.Key != t.Key {
			continue
		}
		switch tol.Operator {
		case corev1.TolerationOpExists:
			return true
		case corev1.TolerationOpEqual, "":
			if tol.Key != "" && tol.Value == t.Value {
				return true
			}
		}
	}
	return false
}
