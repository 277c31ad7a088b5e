package conformance

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func kubeletResizeSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.resize.applied",
			"a resize of a running container's cpu and memory (resizePolicy NotRequired) MUST be applied to the running container without a restart (its cgroup's CPU quota and memory limit follow the new limits) and then reported: containerStatuses[].resources and allocatedResources equal to the new values, observedGeneration equal to the pod's generation, no resize condition left",
			srcPodResize), specResizeApplied},
		{kubeletBehavior("kubelet.resize.restart-container",
			"a resize of a resource whose resizePolicy is RestartContainer MUST restart that container (restartCount incremented) with the new limits in its cgroup, and report them in containerStatuses[].resources",
			srcPodResize), specResizeRestartContainer},
		{kubeletBehavior("kubelet.resize.infeasible",
			"a resize requesting more CPU than the node's allocatable MUST NOT be applied: the pod MUST get the condition PodResizePending with reason Infeasible, its containerStatuses[].resources MUST keep the old values and the container MUST keep running without a restart",
			srcPodResize), specResizeInfeasible},
	}
}

// resizeTestPod is a Burstable pod of one long-running container with cpu 100m/200m and
// memory 48Mi/64Mi and the given resizePolicy for memory (cpu: NotRequired).
func (e *kubeletEnv) resizeTestPod(name string, memoryPolicy corev1.ResourceResizeRestartPolicy) *corev1.Pod {
	p := e.testPod(name, "serve-hostname")
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("48Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{
		{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.NotRequired},
		{ResourceName: corev1.ResourceMemory, RestartPolicy: memoryPolicy},
	}
	return p
}

// resize patches pods/NAME/resize with the container's new requests and limits.
func (e *kubeletEnv) resize(ctx context.Context, g gomega.Gomega, name string, r corev1.ResourceRequirements) *corev1.Pod {
	patch := fmt.Sprintf(`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":%q,"memory":%q},"limits":{"cpu":%q,"memory":%q}}}]}}`,
		r.Requests.Cpu().String(), r.Requests.Memory().String(), r.Limits.Cpu().String(), r.Limits.Memory().String())
	out, err := e.client.CoreV1().Pods(e.ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "patching pods/%s/resize with %s", name, patch)
	return out
}

// cgroupLimits execs `ckimage cgroup` in the pod's container: "cpu.max QUOTA PERIOD" and
// "memory.max BYTES".
func (e *kubeletEnv) cgroupLimits(ctx context.Context, g gomega.Gomega, pod string) (cpuMax, memoryMax string) {
	out, stderr, code, err := e.exec(ctx, pod, true, "/ckimage", "cgroup")
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "exec ckimage cgroup in %s: %s", pod, stderr)
	g.ExpectWithOffset(1, code).To(gomega.Equal(0), "exec ckimage cgroup in %s: exit %d: %s", pod, code, stderr)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if v, ok := strings.CutPrefix(line, "cpu.max "); ok {
			cpuMax = v
		}
		if v, ok := strings.CutPrefix(line, "memory.max "); ok {
			memoryMax = v
		}
	}
	return cpuMax, memoryMax
}

// cgroupOf is what a container's cgroup holds for limits: CFS quota over a 100 ms period and
// the memory limit in bytes.
func cgroupOf(r corev1.ResourceRequirements) (cpuMax, memoryMax string) {
	return fmt.Sprintf("%d 100000", r.Limits.Cpu().MilliValue()*100), fmt.Sprint(r.Limits.Memory().Value())
}

// resized reports whether the pod's first container reports r as its resources and r's
// requests as allocated, for the pod's current generation, with no resize condition left.
func resized(p *corev1.Pod, r corev1.ResourceRequirements) bool {
	cs := containerStatus(p)
	if cs.Resources == nil || cs.State.Running == nil || p.Status.ObservedGeneration != p.Generation {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodResizePending || c.Type == corev1.PodResizeInProgress {
			return false
		}
	}
	return apiequality.Semantic.DeepEqual(cs.Resources.Requests, r.Requests) && apiequality.Semantic.DeepEqual(cs.Resources.Limits, r.Limits) &&
		apiequality.Semantic.DeepEqual(cs.AllocatedResources, r.Requests)
}

func describeResize(p *corev1.Pod) string {
	if p == nil {
		return "(pod not read)"
	}
	cs := containerStatus(p)
	s := fmt.Sprintf("generation %d, observedGeneration %d, restarts %d, allocated %s", p.Generation, p.Status.ObservedGeneration, cs.RestartCount, resourceList(cs.AllocatedResources))
	if cs.Resources != nil {
		s += fmt.Sprintf(", resources requests %s limits %s", resourceList(cs.Resources.Requests), resourceList(cs.Resources.Limits))
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodResizePending || c.Type == corev1.PodResizeInProgress {
			s += fmt.Sprintf(", %s %s: %s", c.Type, c.Reason, c.Message)
		}
	}
	return s
}

// resourceList prints a ResourceList as NAME=QUANTITY pairs.
func resourceList(l corev1.ResourceList) string {
	var parts []string
	for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := l[n]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", n, q.String()))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func newResources(cpuReq, cpuLim, memReq, memLim string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuReq), corev1.ResourceMemory: resource.MustParse(memReq)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLim), corev1.ResourceMemory: resource.MustParse(memLim)},
	}
}

// waitResized waits until the pod reports r as resized; it returns the pod.
func (e *kubeletEnv) waitResized(ctx context.Context, g gomega.Gomega, name string, r corev1.ResourceRequirements) *corev1.Pod {
	var last *corev1.Pod
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if resized(p, r) {
				return p
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.ExpectWithOffset(1, false).To(gomega.BeTrue(), "pod %s: the resize to requests %v limits %v was not reported within 30s: %s", name, r.Requests, r.Limits, describeResize(last))
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func specResizeApplied(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.resizeTestPod("resize-applied", corev1.NotRequired))
	before := e.waitPod(ctx, g, "resize-applied", "Running", startTimeout, isRunning)
	old := before.Spec.Containers[0].Resources
	e.waitResized(ctx, g, "resize-applied", old)
	cpuMax, memMax := e.cgroupLimits(ctx, g, "resize-applied")
	wantCPU, wantMem := cgroupOf(old)
	g.Expect([]string{cpuMax, memMax}).To(gomega.Equal([]string{wantCPU, wantMem}), "the container's cgroup before the resize (cpu.max, memory.max)")

	want := newResources("150m", "300m", "56Mi", "128Mi")
	e.resize(ctx, g, "resize-applied", want)
	after := e.waitResized(ctx, g, "resize-applied", want)
	cs := containerStatus(after)
	g.Expect(cs.RestartCount).To(gomega.BeZero(), "a resize with resizePolicy NotRequired must not restart the container")
	g.Expect(cs.ContainerID).To(gomega.Equal(containerStatus(before).ContainerID), "the same container must run after the resize")
	cpuMax, memMax = e.cgroupLimits(ctx, g, "resize-applied")
	wantCPU, wantMem = cgroupOf(want)
	g.Expect([]string{cpuMax, memMax}).To(gomega.Equal([]string{wantCPU, wantMem}), "the running container's cgroup after the resize (cpu.max, memory.max) must hold the new limits")
}

func specResizeRestartContainer(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.resizeTestPod("resize-restart", corev1.RestartContainer))
	before := e.waitPod(ctx, g, "resize-restart", "Running", startTimeout, isRunning)
	e.waitResized(ctx, g, "resize-restart", before.Spec.Containers[0].Resources)
	want := newResources("100m", "200m", "48Mi", "96Mi")
	e.resize(ctx, g, "resize-restart", want)
	after := e.waitResized(ctx, g, "resize-restart", want)
	g.Expect(containerStatus(after).RestartCount).To(gomega.Equal(int32(1)), "a memory resize with resizePolicy RestartContainer must restart the container once: %s", describeStatus(after))
	e.waitPod(ctx, g, "resize-restart", "Running after the restart", startTimeout, isRunning)
	cpuMax, memMax := e.cgroupLimits(ctx, g, "resize-restart")
	wantCPU, wantMem := cgroupOf(want)
	g.Expect([]string{cpuMax, memMax}).To(gomega.Equal([]string{wantCPU, wantMem}), "the restarted container's cgroup (cpu.max, memory.max) must hold the new limits")
}

func specResizeInfeasible(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	node, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "reading node %s", e.k.Node)
	e.create(ctx, g, e.resizeTestPod("resize-infeasible", corev1.NotRequired))
	before := e.waitPod(ctx, g, "resize-infeasible", "Running", startTimeout, isRunning)
	old := before.Spec.Containers[0].Resources
	e.waitResized(ctx, g, "resize-infeasible", old)
	tooMuch := fmt.Sprintf("%dm", node.Status.Allocatable.Cpu().MilliValue()+1000)
	infeasible := newResources(tooMuch, tooMuch, "48Mi", "64Mi")
	e.resize(ctx, g, "resize-infeasible", infeasible)
	p := e.waitPod(ctx, g, "resize-infeasible", "the condition PodResizePending", 30*time.Second, func(p *corev1.Pod) bool {
		return podCondition(p, corev1.PodResizePending) == corev1.ConditionTrue || resized(p, infeasible)
	})
	g.Expect(resized(p, infeasible)).To(gomega.BeFalse(), "a resize to %s CPU on a node with %s allocatable must not be applied: %s", tooMuch, node.Status.Allocatable.Cpu(), describeResize(p))
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodResizePending {
			g.Expect(c.Reason).To(gomega.Equal(corev1.PodReasonInfeasible), "PodResizePending's reason for more CPU than the node's allocatable (message %q)", c.Message)
			g.Expect(c.Message).To(gomega.ContainSubstring("cpu"), "PodResizePending's message must name the resource")
		}
	}
	// Some time for a kubelet that would apply it anyway.
	time.Sleep(2 * time.Second)
	p, err = e.client.CoreV1().Pods(e.ns).Get(ctx, "resize-infeasible", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	cs := containerStatus(p)
	g.Expect(cs.Resources).NotTo(gomega.BeNil(), "containerStatuses[0].resources")
	g.Expect(apiequality.Semantic.DeepEqual(cs.Resources.Limits, old.Limits) && apiequality.Semantic.DeepEqual(cs.Resources.Requests, old.Requests)).To(gomega.BeTrue(),
		"an infeasible resize must leave the reported resources as they were (requests %s, limits %s): %s", resourceList(old.Requests), resourceList(old.Limits), describeResize(p))
	g.Expect(cs.RestartCount).To(gomega.BeZero(), "an infeasible resize must not restart the container")
	g.Expect(cs.State.Running).NotTo(gomega.BeNil(), "the container must keep running: %s", describeStatus(p))
	cpuMax, _ := e.cgroupLimits(ctx, g, "resize-infeasible")
	wantCPU, _ := cgroupOf(old)
	g.Expect(cpuMax).To(gomega.Equal(wantCPU), "the container's cgroup must keep its CPU quota")
}
