package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/clusterkit/clusterkit/interfaces"
)

var _ interfaces.PreScorePlugin = Affinity{}

// PreScore is NodeAffinity's score: the sum of the weights of the pod's
// preferredDuringSchedulingIgnoredDuringExecution terms the node matches
// (terms of weight 0 and empty terms count for nothing), rescaled so that
// the best node scores 100. A pod without preferred terms is not scored.
func (Affinity) PreScore(_ context.Context, pod *corev1.Pod, _, _ []*interfaces.NodeInfo) (interfaces.PodScorer, *interfaces.Status) {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return nil, nil
	}
	terms, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return nil, interfaces.NewStatus(interfaces.Error, err.Error())
	}
	return preferredScorer{terms}, nil
}

type preferredScorer struct {
	terms *nodeaffinity.PreferredSchedulingTerms
}

func (s preferredScorer) Score(_ context.Context, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	return s.terms.Score(node.Node), nil
}

func (preferredScorer) NormalizeScore(_ context.Context, _ *corev1.Pod, scores []int64) *interfaces.Status {
	NormalizeToMax(scores, false)
	return nil
}

// NormalizeToMax rescales scores so that the highest becomes
// interfaces.MaxNodeScore (integer division, as kube-scheduler's
// DefaultNormalizeScore); reverse turns them around (MaxNodeScore − s), so
// that the lowest raw score wins. All zero stays zero (or MaxNodeScore when
// reversed).
func NormalizeToMax(scores []int64, reverse bool) {
	var top int64
	for _, s := range scores {
		top = max(top, s)
	}
	for i, s := range scores {
		if top > 0 {
			s = interfaces.MaxNodeScore * s / top
		}
		if reverse {
			s = interfaces.MaxNodeScore - s
		}
		scores[i] = s
	}
}
