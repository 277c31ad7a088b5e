package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestValidatePodResize(t *testing.T) {
	stored := func() *corev1.Pod {
		p := defaulted(validPod())
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{
			Name: "proxy", Image: "envoy:1", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}},
		})
		p.Status.QOSClass = QOSClass(&p.Spec)
		return p
	}
	q := resource.MustParse
	cases := []struct {
		name   string
		change func(p *corev1.Pod)
		want   []fe
	}{
		{"cpu up", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = q("150m")
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = q("300m")
		}, nil},
		{"memory limit up", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = q("256Mi") }, nil},
		{"sidecar cpu", func(p *corev1.Pod) { p.Spec.InitContainers[1].Resources.Requests[corev1.ResourceCPU] = q("80m") }, nil},
		{"memory limit down, NotRequired", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = q("100Mi")
		}, []fe{{field.ErrorTypeForbidden, "spec.containers[0].resources.limits[memory]"}}},
		{"sidecar memory limit added", func(p *corev1.Pod) {
			p.Spec.InitContainers[1].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: q("50m"), corev1.ResourceMemory: q("10Mi")}
		}, []fe{{field.ErrorTypeForbidden, "spec.initContainers[1].resources.limits[memory]"}}},
		{"resizePolicy changed", func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceMemory, RestartPolicy: corev1.RestartContainer}}
		}, []fe{{field.ErrorTypeForbidden, "spec"}}},
		{"request removed", func(p *corev1.Pod) { delete(p.Spec.Containers[0].Resources.Requests, corev1.ResourceMemory) },
			[]fe{{field.ErrorTypeForbidden, "spec.containers[0].resources.requests"}}},
		{"other resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceEphemeralStorage] = q("1Gi")
		}, []fe{{field.ErrorTypeForbidden, "spec"}}},
		{"init container", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: q("10m")}
		}, []fe{{field.ErrorTypeForbidden, "spec"}}},
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:2" }, []fe{{field.ErrorTypeForbidden, "spec"}}},
		{"requests above limits", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = q("1") },
			[]fe{{field.ErrorTypeInvalid, "spec.containers[0].resources.requests[cpu]"}}},
		{"static pod", func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = q("150m")
		}, []fe{{field.ErrorTypeForbidden, "[]"}}},
		{"bad resize policy", func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: "gpu", RestartPolicy: "Sometimes"}}
		}, []fe{{field.ErrorTypeForbidden, "spec"}, {field.ErrorTypeNotSupported, "spec.containers[0].resizePolicy"}, {field.ErrorTypeNotSupported, "spec.containers[0].resizePolicy"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := stored()
			p := stored()
			tc.change(p)
			if tc.name == "static pod" {
				old.Annotations = p.Annotations
			}
			assertErrors(t, ValidatePodResize(p, old), tc.want...)
		})
	}
}

// TestValidatePodResizeQOS: a Guaranteed pod whose CPU request is lowered below its limit
// would become Burstable.
func TestValidatePodResizeQOS(t *testing.T) {
	old := defaulted(validPod())
	old.Spec.InitContainers = nil
	old.Spec.Containers[0].Resources.Requests = old.Spec.Containers[0].Resources.Limits.DeepCopy()
	old.Status.QOSClass = QOSClass(&old.Spec)
	if old.Status.QOSClass != corev1.PodQOSGuaranteed {
		t.Fatalf("fixture is %s, want Guaranteed", old.Status.QOSClass)
	}
	p := old.DeepCopy()
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("150m")
	assertErrors(t, ValidatePodResize(p, old), fe{field.ErrorTypeInvalid, "spec"})
	p.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("150m")
	assertErrors(t, ValidatePodResize(p, old))
}

func TestValidatePodResizeNodeWithoutSupport(t *testing.T) {
	old := defaulted(validPod())
	old.Status.QOSClass = QOSClass(&old.Spec)
	old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	p := old.DeepCopy()
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("150m")
	assertErrors(t, ValidatePodResize(p, old), fe{field.ErrorTypeForbidden, "spec"})
	old.Status.ContainerStatuses[0].Resources = old.Spec.Containers[0].Resources.DeepCopy()
	assertErrors(t, ValidatePodResize(p, old))
}

func TestPreparePodResizeKeepsAllButResources(t *testing.T) {
	old := defaulted(validPod())
	old.Status.Phase = corev1.PodRunning
	p := old.DeepCopy()
	p.Labels = map[string]string{"app": "other"}
	p.Spec.Containers[0].Image = "nginx:2"
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("150m")
	p.Spec.NodeName = "elsewhere"
	p.Status.Phase = corev1.PodFailed
	PreparePodResize(p, old)
	if p.Labels["app"] != "web" || p.Spec.Containers[0].Image != "nginx:1.27" || p.Spec.NodeName != "" || p.Status.Phase != corev1.PodRunning {
		t.Errorf("a resize kept a change outside the resources: labels %v, image %s, node %q, phase %s", p.Labels, p.Spec.Containers[0].Image, p.Spec.NodeName, p.Status.Phase)
	}
	if got := p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; got.String() != "150m" {
		t.Errorf("resources %v not taken from the request", p.Spec.Containers[0].Resources)
	}
	assertErrors(t, ValidatePodResize(p, old))
}
