package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func slicePod(name, ip string, ready bool, port int32) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
	p.Spec.Containers = []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}
	p.Status.PodIP = ip
	p.Status.Phase = corev1.PodRunning
	s := corev1.ConditionFalse
	if ready {
		s = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: s}}
	return p
}

func TestDesired(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	many := make([]*corev1.Pod, 0, 150)
	for i := range 150 {
		many = append(many, slicePod(fmt.Sprintf("p%03d", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256), true, 8080))
	}
	cases := []struct {
		name       string
		pods       []*corev1.Pod
		wantSlices int
		check      func(t *testing.T, eps int, ready map[string]bool, ports map[string]int32)
	}{
		{"no pods: one empty slice", nil, 1, func(t *testing.T, eps int, _ map[string]bool, _ map[string]int32) {
			if eps != 0 {
				t.Fatalf("%d endpoints", eps)
			}
		}},
		{"readiness and named port", []*corev1.Pod{slicePod("a", "10.0.0.1", true, 8080), slicePod("b", "10.0.0.2", false, 8080), slicePod("c", "", true, 8080)}, 1,
			func(t *testing.T, eps int, ready map[string]bool, ports map[string]int32) {
				if eps != 2 || !ready["10.0.0.1"] || ready["10.0.0.2"] || ports["10.0.0.1"] != 8080 {
					t.Fatalf("eps %d ready %v ports %v", eps, ready, ports)
				}
			}},
		{"pods resolving the port differently go to different slices", []*corev1.Pod{slicePod("a", "10.0.0.1", true, 8080), slicePod("b", "10.0.0.2", true, 9090)}, 2,
			func(t *testing.T, _ int, _ map[string]bool, ports map[string]int32) {
				if ports["10.0.0.1"] != 8080 || ports["10.0.0.2"] != 9090 {
					t.Fatalf("ports %v", ports)
				}
			}},
		{"at most 100 endpoints a slice", many, 2, func(t *testing.T, eps int, _ map[string]bool, _ map[string]int32) {
			if eps != 150 {
				t.Fatalf("%d endpoints", eps)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Desired(svc, c.pods)
			if len(out) != c.wantSlices {
				t.Fatalf("%d slices, want %d", len(out), c.wantSlices)
			}
			eps, ready, ports := 0, map[string]bool{}, map[string]int32{}
			for _, s := range out {
				if len(s.Endpoints) > MaxEndpointsPerSlice {
					t.Fatalf("a slice of %d endpoints", len(s.Endpoints))
				}
				for _, ep := range s.Endpoints {
					eps++
					ready[ep.Addresses[0]] = ptr.Deref(ep.Conditions.Ready, false)
					if len(s.Ports) > 0 {
						ports[ep.Addresses[0]] = ptr.Deref(s.Ports[0].Port, 0)
					}
				}
			}
			c.check(t, eps, ready, ports)
		})
	}
}
