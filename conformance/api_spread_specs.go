package conformance

import (
	"context"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// srcSpreadMerge: what the API server does with a topology spread
// constraint's matchLabelKeys.
const srcSpreadMerge = "Kubernetes: Pod Topology Spread Constraints, matchLabelKeys (with the MatchLabelKeysInPodTopologySpreadSelectorMerge feature, beta and on by default since 1.34, the keys are looked up in the Pod's labels and merged into the labelSelector when the Pod is created); pkg/registry/core/pod/strategy.go PrepareForCreate (mutateTopologySpreadConstraints: one matchExpression key In [value] per key the Pod's labels have)"

// apiSpreadSpecs are the API server's part of topology spread.
func apiSpreadSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.pod.spread-match-label-keys", "a Pod created with a topology spread constraint whose matchLabelKeys name its labels MUST be stored with one matchExpression key In [the Pod's value] added to the constraint's labelSelector per such key (none for a key the Pod does not have), matchLabelKeys kept", srcSpreadMerge), specSpreadMatchLabelKeysMerged},
	}
}

func specSpreadMatchLabelKeysMerged(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("spread-keys")
	p.Labels["ck-version"] = "v2"
	p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread-keys"}},
		MatchLabelKeys: []string{"ck-version", "ck-absent"},
	}}
	created, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	ok(g, err, "create a Pod with matchLabelKeys")
	got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, created.Name, metav1.GetOptions{})
	ok(g, err, "get the Pod")
	for what, pod := range map[string]*corev1.Pod{"the create's answer": created, "the stored Pod": got} {
		g.Expect(pod.Spec.TopologySpreadConstraints).To(gomega.HaveLen(1), what)
		c := pod.Spec.TopologySpreadConstraints[0]
		g.Expect(c.MatchLabelKeys).To(gomega.Equal([]string{"ck-version", "ck-absent"}), "%s: matchLabelKeys", what)
		g.Expect(c.LabelSelector).To(gomega.Equal(&metav1.LabelSelector{
			MatchLabels:      map[string]string{"app": "spread-keys"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "ck-version", Operator: metav1.LabelSelectorOpIn, Values: []string{"v2"}}},
		}), "%s: the labelSelector with ck-version merged in", what)
	}
}
