package conformance

import (
	"context"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// apiPodAffinitySpecs are the API server's part of inter-pod affinity: the
// create-time merge of matchLabelKeys and mismatchLabelKeys.
func apiPodAffinitySpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.pod.affinity-label-keys", "on create, each podAffinityTerm's matchLabelKeys MUST be merged into its labelSelector as \"key In (the Pod's value)\" and its mismatchLabelKeys as \"key NotIn (value)\", a key the Pod has no label of adding nothing; a key in both lists MUST be rejected with 422 naming the term's matchLabelKeys", srcPodAffinityKeys), specPodAffinityLabelKeysMerged},
	}
}

func specPodAffinityLabelKeysMerged(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	p := pod("keyed")
	p.Labels["rev"], p.Labels["track"] = "2", "canary"
	term := corev1.PodAffinityTerm{TopologyKey: corev1.LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		MatchLabelKeys: []string{"rev", "missing"}, MismatchLabelKeys: []string{"track"}}
	p.Spec.Affinity = &corev1.Affinity{
		PodAffinity:     &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term}},
		PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 10, PodAffinityTerm: *term.DeepCopy()}}},
	}
	_, err := pods.Create(ctx, p, metav1.CreateOptions{})
	ok(g, err, "creating a Pod with matchLabelKeys and mismatchLabelKeys")
	stored, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
	ok(g, err, "reading the Pod")
	want := []metav1.LabelSelectorRequirement{
		{Key: "rev", Operator: metav1.LabelSelectorOpIn, Values: []string{"2"}},
		{Key: "track", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"canary"}},
	}
	for what, t := range map[string]corev1.PodAffinityTerm{
		"the required podAffinity term":      stored.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0],
		"the preferred podAntiAffinity term": stored.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm,
	} {
		g.Expect(t.LabelSelector.MatchExpressions).To(gomega.Equal(want), "%s: labelSelector.matchExpressions after the merge", what)
		g.Expect(t.LabelSelector.MatchLabels).To(gomega.Equal(map[string]string{"app": "web"}), "%s: matchLabels stay", what)
		g.Expect(t.MatchLabelKeys).To(gomega.Equal([]string{"rev", "missing"}), "%s: matchLabelKeys stay", what)
	}
	bad := pod("both-lists")
	bad.Labels["rev"] = "2"
	both := *term.DeepCopy()
	both.MismatchLabelKeys = []string{"rev"}
	bad.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{both}}}
	_, err = pods.Create(ctx, bad, metav1.CreateOptions{})
	expectInvalidUnder(g, err, "a key in both matchLabelKeys and mismatchLabelKeys", "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys")
}
