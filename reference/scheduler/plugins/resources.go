package plugins

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/clusterkit/clusterkit/interfaces"
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
	return podRequests(pod, false)
}

// NonZeroRequests returns the pod's cpu (millicores) and memory (bytes) requests as the
// scoring plugins count them, as kube-scheduler's NonZeroRequested: PodRequests with every
// container (regular, init or sidecar) that states no cpu or no memory request counted as
// requesting DefaultMilliCPURequest or DefaultMemoryRequest of it. Only a missing request takes
// the default; an explicit 0 stays 0.
func NonZeroRequests(pod *corev1.Pod) (cpu, mem int64) {
	req := podRequests(pod, true)
	return req.Cpu().MilliValue(), req.Memory().Value()
}

// Requests returns PodRequests and NonZeroRequests of pod, walking its containers once when
// every one of them states a cpu and a memory request (the two then agree), as most pods do.
func Requests(pod *corev1.Pod) (req corev1.ResourceList, nonZeroCPU, nonZeroMem int64) {
	req = PodRequests(pod)
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			r := cs[i].Resources.Requests
			_, hasCPU := r[corev1.ResourceCPU]
			_, hasMem := r[corev1.ResourceMemory]
			if !hasCPU || !hasMem {
				nonZeroCPU, nonZeroMem = NonZeroRequests(pod)
				return req, nonZeroCPU, nonZeroMem
			}
		}
	}
	return req, req.Cpu().MilliValue(), req.Memory().Value()
}

var nonZeroDefaults = corev1.ResourceList{
	corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
	corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.BinarySI),
}

// containerRequests is a container's requests, with the scoring defaults for a missing cpu or
// memory request when nonZero is set.
func containerRequests(c *corev1.Container, nonZero bool) corev1.ResourceList {
	r := c.Resources.Requests
	if !nonZero {
		return r
	}
	_, hasCPU := r[corev1.ResourceCPU]
	_, hasMem := r[corev1.ResourceMemory]
	if hasCPU && hasMem {
		return r
	}
	out := make(corev1.ResourceList, len(r)+2)
	for name, q := range r {
		out[name] = q
	}
	for name, q := range nonZeroDefaults {
		if _, ok := r[name]; !ok {
			out[name] = q
		}
	}
	return out
}

func podRequests(pod *corev1.Pod, nonZero bool) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := range pod.Spec.Containers {
		addList(out, containerRequests(&pod.Spec.Containers[i], nonZero))
	}
	if len(pod.Spec.InitContainers) == 0 {
		addList(out, pod.Spec.Overhead)
		return out
	}
	sidecars := corev1.ResourceList{}
	initPeak := corev1.ResourceList{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		req := containerRequests(c, nonZero)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar runs from its start to the pod's end.
			addList(sidecars, req)
			maxList(initPeak, sidecars)
			continue
		}
		running := req.DeepCopy()
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

// CountPod adds pod to info as a scheduler's snapshot counts a pod bound (or assumed) to the
// node: its requests (PodRequests, and NonZeroRequests for the scoring), the pod count, PodList
// and, when it has inter-pod affinity terms, PodsWithAffinity. info.Requested must not be nil.
func CountPod(info *interfaces.NodeInfo, pod *corev1.Pod) {
	req, cpu, mem := Requests(pod)
	AddRequests(info.Requested, req)
	info.NonZeroMilliCPU += cpu
	info.NonZeroMemory += mem
	info.Pods++
	info.PodList = append(info.PodList, pod)
	if HasPodAffinity(pod) {
		info.PodsWithAffinity = append(info.PodsWithAffinity, pod)
	}
}
