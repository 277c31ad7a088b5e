package daemonset

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func testDS() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns", UID: "u1", Generation: 3},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "img:1"}}},
			},
		},
	}
}

func TestPinToNodeReplacesMatchFieldsInEveryTerm(t *testing.T) {
	spec := corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
			{MatchFields: []corev1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{"old"}}}},
			{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}},
		}},
	}}}
	pinToNode(&spec, "n1")
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 2 {
		t.Fatalf("terms: %v", terms)
	}
	for i, term := range terms {
		if len(term.MatchFields) != 1 || term.MatchFields[0].Values[0] != "n1" {
			t.Errorf("term %d: matchFields %v", i, term.MatchFields)
		}
	}
	if len(terms[1].MatchExpressions) != 1 {
		t.Error("matchExpressions lost")
	}
	if got := TargetNode(&corev1.Pod{Spec: spec}); got != "n1" {
		t.Errorf("TargetNode = %q", got)
	}
	empty := corev1.PodSpec{}
	pinToNode(&empty, "n2")
	if TargetNode(&corev1.Pod{Spec: empty}) != "n2" {
		t.Error("no affinity: not pinned")
	}
}

func TestDefaultTolerationsReplaceMatchingOnes(t *testing.T) {
	spec := corev1.PodSpec{HostNetwork: true, Tolerations: []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(30))},
		{Key: "mine", Operator: corev1.TolerationOpExists},
	}}
	addTolerations(&spec)
	if len(spec.Tolerations) != 8 {
		t.Fatalf("tolerations: %v", spec.Tolerations)
	}
	if spec.Tolerations[0].TolerationSeconds != nil {
		t.Error("not-ready keeps tolerationSeconds")
	}
	found := false
	for _, tol := range spec.Tolerations {
		if tol.Key == corev1.TaintNodeNetworkUnavailable {
			found = true
		}
	}
	if !found {
		t.Error("hostNetwork pod lacks network-unavailable")
	}
}

func TestPlacement(t *testing.T) {
	ds := testDS()
	node := func(taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"role": "x"}}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	cases := []struct {
		name           string
		node           *corev1.Node
		run, continue_ bool
	}{
		{"plain", node(), true, true},
		{"NoSchedule", node(corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"NoExecute", node(corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoExecute}), false, false},
		{"unschedulable tolerated", node(corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}), true, true},
		{"unreachable tolerated", node(corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}), true, true},
		{"PreferNoSchedule ignored", node(corev1.Taint{Key: "k", Effect: corev1.TaintEffectPreferNoSchedule}), true, true},
	}
	for _, c := range cases {
		run, cont := placement(ds, c.node)
		if run != c.run || cont != c.continue_ {
			t.Errorf("%s: placement = %v, %v; want %v, %v", c.name, run, cont, c.run, c.continue_)
		}
	}
	sel := testDS()
	sel.Spec.Template.Spec.NodeSelector = map[string]string{"role": "y"}
	if run, cont := placement(sel, node()); run || cont {
		t.Error("nodeSelector mismatch runs")
	}
}

func TestRevisionDataReplacesTheTemplate(t *testing.T) {
	raw, err := revisionData(testDS())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Spec struct {
			Template map[string]any `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Template["$patch"] != "replace" || got.Spec.Template["spec"] == nil {
		t.Fatalf("data %s", raw)
	}
}

func TestUpdateBudget(t *testing.T) {
	ds := testDS()
	if u, s := updateBudget(ds, 10); u != 1 || s != 0 {
		t.Errorf("defaults: %d, %d", u, s)
	}
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromString("25%"))}}
	if u, s := updateBudget(ds, 10); u != 0 || s != 3 {
		t.Errorf("surge 25%% of 10: %d, %d", u, s)
	}
	if !allowsSurge(ds) {
		t.Error("allowsSurge false with 25%")
	}
}

func TestNewPodLabelsAndOwner(t *testing.T) {
	p := newPod(testDS(), "h1", "n1")
	if p.Labels[HashLabel] != "h1" || p.Labels[GenerationLabel] != "3" || p.Labels["app"] != "agent" {
		t.Errorf("labels %v", p.Labels)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != "u1" || ref.Kind != "DaemonSet" {
		t.Errorf("owner %v", p.OwnerReferences)
	}
	if p.Spec.NodeName != "" || TargetNode(p) != "n1" {
		t.Error("not pinned by affinity")
	}
}
