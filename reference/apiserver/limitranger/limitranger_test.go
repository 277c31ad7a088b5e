package limitranger

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
)

type fakeReader struct{ items []runtime.Object }

func (f fakeReader) Get(context.Context, schema.GroupVersionResource, string, string) (runtime.Object, error) {
	return nil, apierrors.NewNotFound(corev1.Resource("limitranges"), "")
}

func (f fakeReader) List(context.Context, schema.GroupVersionResource, string) ([]runtime.Object, error) {
	return f.items, nil
}

func attrs(p *corev1.Pod) admission.Attributes {
	return admission.NewAttributesRecord(p, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", p.Name,
		corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, &metav1.CreateOptions{}, false, nil)
}

func limits() *corev1.LimitRange {
	return &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "lr", Namespace: "ns"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			Max:            corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			Min:            corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
			Default:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		}}},
	}
}

func TestDefaultsAndValidation(t *testing.T) {
	p := New()
	p.SetObjectReader(fakeReader{items: []runtime.Object{limits()}})
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
		Status: corev1.PodStatus{QOSClass: corev1.PodQOSBestEffort}}
	ctx := context.Background()
	if err := p.Admit(ctx, attrs(pod), nil); err != nil {
		t.Fatal(err)
	}
	res := pod.Spec.Containers[0].Resources
	if q := res.Limits[corev1.ResourceCPU]; q.String() != "500m" {
		t.Errorf("cpu limit = %s, want 500m", q.String())
	}
	if q := res.Requests[corev1.ResourceMemory]; q.String() != "64Mi" {
		t.Errorf("memory request = %s, want 64Mi", q.String())
	}
	if got := pod.Annotations[Annotation]; got != "LimitRanger plugin set: cpu, memory request for container app; cpu limit for container app" {
		t.Errorf("annotation = %q", got)
	}
	if pod.Status.QOSClass != corev1.PodQOSBurstable {
		t.Errorf("qosClass = %s, want Burstable after defaulting", pod.Status.QOSClass)
	}
	if err := p.Validate(ctx, attrs(pod), nil); err != nil {
		t.Fatalf("a defaulted pod was refused: %v", err)
	}

	big := pod.DeepCopy()
	big.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("2")
	big.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("16Mi")
	err := p.Validate(ctx, attrs(big), nil)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("a pod over max: want 403, got %v", err)
	}
	for _, want := range []string{"maximum cpu usage per Container is 1, but limit is 2", "minimum memory usage per Container is 32Mi, but request is 16Mi"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err.Error(), want)
		}
	}
}

func TestRatio(t *testing.T) {
	lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypePod, MaxLimitRequestRatio: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
	}}}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
	}}}}}
	err := check(pod, lr)
	if err == nil || !strings.Contains(err.Error(), "cpu max limit to request ratio per Pod is 2, but provided ratio is 10.000000") {
		t.Errorf("ratio check: got %v", err)
	}
}
