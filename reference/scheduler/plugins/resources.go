package plugins

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Defaults the scoring plugins assume for a container that requests no cpu or
// memory, as Kubernetes' scheduler does, so that such pods still spread.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// PodRequests returns the pod's effective requests, as Kubernetes counts
// them (k8s.io/component-helpers/resource PodRequests): for each resource
// the larger of the containers' sum plus every sidecar (an init container
// with restartPolicy Always), and the largest of each regular init
// container plus the sidecars started before it; then the pod overhead.
func PodRequests(pod *corev1.Pod) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := range pod.Spec.Containers {
		addList(out, pod.Spec.Containers[i].Resources.Requests)
	}
	if len(pod.Spec.InitContainers) == 0 {
		addList(out, pod.Spec.Overhead)
		return out
	}
	sidecars := corev1.ResourceList{}
	initPeak := corev1.ResourceList{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar runs from its start to the pod's end.
			addList(sidecars, c.Resources.Requests)
			maxList(initPeak, sidecars)
			continue
		}
		running := c.Resources.Requests.DeepCopy()
		addList(running, sidecars)
		maxList(initPeak, running)
	}
	addList(out, sidecars)
	maxList(out, initPeak)
	addList(out, pod.Spec.Overhead)
	return out
}

// maxList raises each resource of dst to src's where src's is larger.
func maxList(dst, src corev1.ResourceList) {
	for name, q := range src {
		if cur, ok := dst[name]; !ok || q.Cmp(cur) > 0 {
			dst[name] = q.DeepCopy()
		}
	}
}

func addList(dst, src corev1.ResourceList) {
	for name, q := range src {
		if cur, ok := dst[name]; ok {
			cur.Add(q)
			dst[name] = cur
		} else {
			dst[name] = q.DeepCopy()
		}
	}
}

// AddRequests adds a pod's requests to a node's running total.
func AddRequests(total, pod corev1.ResourceList) { addList(total, pod) }

// SubRequests removes a pod's requests from a node's running total.
func SubRequests(total, pod corev1.ResourceList) {
	for name, q := range pod {
		if cur, ok := total[name]; ok {
			cur.Sub(q)
			total[name] = cur
		}
	}
}

// amount is a resource in its canonical integer unit: millicores for cpu,
// the value (bytes, count) for everything else.
func amount(name corev1.ResourceName, q resource.Quantity) int64 {
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// nonZero returns the pod's cpu (millicores) and memory (bytes) requests
// with the scoring defaults for containers that request none.
func nonZero(pod *corev1.Pod) (cpu, mem int64) {
	for i := range pod.Spec.Containers {
		r := pod.Spec.Containers[i].Resources.Requests
		if q, ok := r[corev1.ResourceCPU]; ok && !q.IsZero() {
			cpu += q.MilliValue()
		} else {
			cpu += DefaultMilliCPURequest
		}
		if q, ok := r[corev1.ResourceMemory]; ok && !q.IsZero() {
			mem += q.Value()
		} else {
			mem += DefaultMemoryRequest
		}
	}
	return cpu, mem
}
