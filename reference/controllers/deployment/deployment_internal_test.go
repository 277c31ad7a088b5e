package deployment

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestBounds(t *testing.T) {
	cases := []struct {
		name                   string
		replicas               int32
		surge, unavailable     *intstr.IntOrString
		recreate               bool
		wantSurge, wantUnavail int32
	}{
		{"defaults 25% of 10: surge rounds up, unavailable down", 10, nil, nil, false, 3, 2},
		{"absolute", 6, ptr.To(intstr.FromInt32(1)), ptr.To(intstr.FromInt32(1)), false, 1, 1},
		{"both zero makes unavailable 1", 3, ptr.To(intstr.FromInt32(0)), ptr.To(intstr.FromInt32(0)), false, 0, 1},
		{"unavailable capped at replicas", 2, ptr.To(intstr.FromInt32(0)), ptr.To(intstr.FromInt32(5)), false, 0, 2},
		{"recreate", 4, nil, nil, true, 0, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(c.replicas)}}
			if c.recreate {
				d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
			} else if c.surge != nil || c.unavailable != nil {
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: c.surge, MaxUnavailable: c.unavailable}
			}
			s, u := bounds(d)
			if s != c.wantSurge || u != c.wantUnavail {
				t.Fatalf("bounds = %d, %d; want %d, %d", s, u, c.wantSurge, c.wantUnavail)
			}
		})
	}
}

func TestTemplateHash(t *testing.T) {
	a := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x:1"}}}}
	b := *a.DeepCopy()
	b.Spec.Containers[0].Image = "x:2"
	if PodTemplateHash(&a, nil) == PodTemplateHash(&b, nil) {
		t.Fatal("different templates hash alike")
	}
	if PodTemplateHash(&a, nil) != PodTemplateHash(a.DeepCopy(), nil) {
		t.Fatal("the hash is not deterministic")
	}
	if PodTemplateHash(&a, nil) == PodTemplateHash(&a, ptr.To(int32(1))) {
		t.Fatal("the collision count does not change the hash")
	}
	withLabel := *a.DeepCopy()
	withLabel.Labels = map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: "abc"}
	if !sameTemplate(&a, &withLabel) || sameTemplate(&a, &b) {
		t.Fatal("sameTemplate must ignore only the pod-template-hash label")
	}
}
