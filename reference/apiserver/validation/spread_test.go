package validation

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMergeSpreadMatchLabelKeys(t *testing.T) {
	sel := func(exprs ...metav1.LabelSelectorRequirement) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: exprs}
	}
	in := func(k, v string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}}
	}
	cases := []struct {
		name string
		c    corev1.TopologySpreadConstraint
		want *metav1.LabelSelector
	}{
		{"no keys", corev1.TopologySpreadConstraint{LabelSelector: sel()}, sel()},
		{"keys the pod has, in order", corev1.TopologySpreadConstraint{LabelSelector: sel(), MatchLabelKeys: []string{"version", "track"}}, sel(in("version", "v2"), in("track", "stable"))},
		{"a key the pod lacks", corev1.TopologySpreadConstraint{LabelSelector: sel(), MatchLabelKeys: []string{"absent"}}, sel()},
		{"no selector", corev1.TopologySpreadConstraint{MatchLabelKeys: []string{"version"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "version": "v2", "track": "stable"}},
				Spec: corev1.PodSpec{TopologySpreadConstraints: []corev1.TopologySpreadConstraint{tc.c}}}
			mergeSpreadMatchLabelKeys(p)
			if diff := cmp.Diff(tc.want, p.Spec.TopologySpreadConstraints[0].LabelSelector); diff != "" {
				t.Errorf("labelSelector (-want +got):\n%s", diff)
			}
		})
	}
}
