package job

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestIndexesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		in    map[int]bool
		want  string
		limit int
	}{
		{map[int]bool{}, "", 10},
		{map[int]bool{0: true}, "0", 10},
		{map[int]bool{0: true, 1: true}, "0,1", 10},
		{map[int]bool{0: true, 1: true, 2: true, 4: true, 6: true, 7: true}, "0-2,4,6,7", 10},
	} {
		got := formatIndexes(c.in)
		if got != c.want {
			t.Errorf("formatIndexes(%v) = %q, want %q", c.in, got, c.want)
		}
		back := parseIndexes(got, c.limit)
		if formatIndexes(back) != c.want {
			t.Errorf("parseIndexes(%q) = %v", got, back)
		}
	}
	if got := parseIndexes("1-5,8", 4); formatIndexes(got) != "1-3" {
		t.Errorf("parseIndexes keeps indexes past the limit: %v", got)
	}
}

func failedPod(code int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}},
		}}},
	}
}

func TestMatchFailurePolicy(t *testing.T) {
	policy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{1}}},
	}}
	if a, msg := matchFailurePolicy(policy, failedPod(42)); a == nil || *a != batchv1.PodFailurePolicyActionFailJob || msg == "" {
		t.Errorf("exit 42: %v %q, want FailJob", a, msg)
	}
	if a, _ := matchFailurePolicy(policy, failedPod(1)); a != nil {
		t.Errorf("exit 1: %v, want no rule", *a)
	}
	if a, _ := matchFailurePolicy(policy, failedPod(2)); a == nil || *a != batchv1.PodFailurePolicyActionCount {
		t.Errorf("exit 2: want Count")
	}
	p := failedPod(42)
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}
	if a, _ := matchFailurePolicy(policy, p); a == nil || *a != batchv1.PodFailurePolicyActionIgnore {
		t.Errorf("disrupted: want Ignore (first rule)")
	}
}

func TestNewIndexedPod(t *testing.T) {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "work", Namespace: "ns", UID: "u1"},
		Spec: batchv1.JobSpec{
			CompletionMode: ptr.To(batchv1.IndexedCompletion), Completions: ptr.To(int32(3)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "work"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
			},
		},
	}
	p := newPod(j, 2)
	if p.Annotations[batchv1.JobCompletionIndexAnnotation] != "2" || p.Labels[batchv1.JobCompletionIndexAnnotation] != "2" {
		t.Errorf("index annotation/label: %v %v", p.Annotations, p.Labels)
	}
	if p.Spec.Hostname != "work-2" || p.GenerateName != "work-2-" {
		t.Errorf("hostname %q generateName %q", p.Spec.Hostname, p.GenerateName)
	}
	if !hasFinalizer(p) {
		t.Errorf("no tracking finalizer: %v", p.Finalizers)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != "u1" || ref.Kind != "Job" {
		t.Errorf("controller ref %v", ref)
	}
	if env := p.Spec.Containers[0].Env; len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" {
		t.Errorf("env %v", env)
	}
	if j.Spec.Template.Annotations != nil || len(j.Spec.Template.Spec.Containers[0].Env) != 0 {
		t.Errorf("newPod changed the Job's template")
	}
}
