package priority

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
)

// classes is an ObjectReader over a fixed set of PriorityClasses.
type classes []*schedulingv1.PriorityClass

func (c classes) Get(_ context.Context, gvr schema.GroupVersionResource, _, name string) (runtime.Object, error) {
	for _, pc := range c {
		if pc.Name == name {
			return pc, nil
		}
	}
	return nil, apierrors.NewNotFound(gvr.GroupResource(), name)
}

func (c classes) List(context.Context, schema.GroupVersionResource, string) ([]runtime.Object, error) {
	out := make([]runtime.Object, len(c))
	for i, pc := range c {
		out[i] = pc
	}
	return out, nil
}

func class(name string, value int32, def bool, policy corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: def, PreemptionPolicy: &policy}
}

func admitPod(t *testing.T, p *Plugin, pod *corev1.Pod) error {
	t.Helper()
	a := admission.NewAttributesRecord(pod, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", pod.Name,
		podsResource, "", admission.Create, &metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "u"})
	return p.Admit(context.Background(), a, nil)
}

func TestAdmitPod(t *testing.T) {
	set := classes{
		class("high", 1000, false, corev1.PreemptNever),
		class("low-default", 5, true, corev1.PreemptLowerPriority),
		class("lower-default", 3, true, corev1.PreemptNever),
	}
	p := New()
	p.SetObjectReader(set)
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		className string
		priority  *int32
		policy    *corev1.PreemptionPolicy
		wantClass string
		want      int32
		wantPol   corev1.PreemptionPolicy
		forbidden bool
	}{
		{name: "named", className: "high", wantClass: "high", want: 1000, wantPol: corev1.PreemptNever},
		{name: "global default, the lowest of two", wantClass: "lower-default", want: 3, wantPol: corev1.PreemptNever},
		{name: "matching priority", className: "high", priority: ptr(int32(1000)), wantClass: "high", want: 1000, wantPol: corev1.PreemptNever},
		{name: "unknown", className: "nope", forbidden: true},
		{name: "mismatch", className: "high", priority: ptr(int32(1)), forbidden: true},
		{name: "policy mismatch", className: "high", policy: ptr(corev1.PreemptLowerPriority), forbidden: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{PriorityClassName: c.className, Priority: c.priority, PreemptionPolicy: c.policy}}
			err := admitPod(t, p, pod)
			if c.forbidden {
				if !apierrors.IsForbidden(err) {
					t.Fatalf("want 403, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pod.Spec.PriorityClassName != c.wantClass || *pod.Spec.Priority != c.want || *pod.Spec.PreemptionPolicy != c.wantPol {
				t.Fatalf("got class %q priority %d policy %s", pod.Spec.PriorityClassName, *pod.Spec.Priority, *pod.Spec.PreemptionPolicy)
			}
		})
	}
	// No default class: priority 0, PreemptLowerPriority.
	p.SetObjectReader(classes{class("high", 1000, false, corev1.PreemptNever)})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	if err := admitPod(t, p, pod); err != nil || *pod.Spec.Priority != 0 || *pod.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Fatalf("without a default class: err %v, spec %+v", err, pod.Spec)
	}
}

func TestSecondGlobalDefault(t *testing.T) {
	p := New()
	p.SetObjectReader(classes{class("first", 1, true, corev1.PreemptLowerPriority)})
	validate := func(op admission.Operation, pc *schedulingv1.PriorityClass) error {
		a := admission.NewAttributesRecord(pc, nil, schedulingv1.SchemeGroupVersion.WithKind("PriorityClass"), "", pc.Name,
			priorityClassesResource, "", op, nil, false, &user.DefaultInfo{Name: "u"})
		return p.Validate(context.Background(), a, nil)
	}
	if err := validate(admission.Create, class("second", 2, true, corev1.PreemptLowerPriority)); !apierrors.IsForbidden(err) {
		t.Fatalf("a second default: want 403, got %v", err)
	}
	if err := validate(admission.Update, class("first", 1, true, corev1.PreemptLowerPriority)); err != nil {
		t.Fatalf("updating the default itself: %v", err)
	}
	if err := validate(admission.Create, class("plain", 2, false, corev1.PreemptLowerPriority)); err != nil {
		t.Fatalf("a class that is not default: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
