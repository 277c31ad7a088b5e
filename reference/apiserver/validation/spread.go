package validation

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// mergeSpreadMatchLabelKeys does what kube-apiserver 1.37 does to a new pod
// (feature MatchLabelKeysInPodTopologySpreadSelectorMerge, beta and on by
// default since 1.34): each key of a topology spread constraint's
// matchLabelKeys that the pod's labels have becomes a matchExpression
// "key In (value)" of the constraint's labelSelector. A constraint without
// a labelSelector (which selects nothing) is left alone; matchLabelKeys stay.
func mergeSpreadMatchLabelKeys(p *corev1.Pod) {
	for i := range p.Spec.TopologySpreadConstraints {
		c := &p.Spec.TopologySpreadConstraints[i]
		if c.LabelSelector == nil {
			continue
		}
		mergeLabelKeys(c.LabelSelector, c.MatchLabelKeys, metav1.LabelSelectorOpIn, p.Labels)
	}
}
