package kubelet

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// In-place pod resize (KEP-1287, GA in Kubernetes 1.35), as the kubelet's allocation manager
// does it: a change of a running pod's container resources (written through pods/NAME/resize)
// is first allocated — when the pod's new requests do not fit the node's allocatable at all
// the resize is Infeasible, when they do not fit beside the other pods' allocations it is
// Deferred (condition PodResizePending, retried every sync) — then actuated: each running
// container gets its new limits through CRI UpdateContainerResources, or is restarted when
// its resizePolicy for a changed resource is RestartContainer (PodResizeInProgress while
// that is under way). The status reports the allocation (allocatedResources) and what each
// running container was given (resources).

// resizeState is a pod worker's allocation: the resources its containers were admitted or
// resized to, and what each running container was given.
type resizeState struct {
	// mu guards allocated, which other pods' workers read to check a resize fits.
	mu sync.Mutex
	// allocated are the resources of the regular and restartable init containers by name,
	// nil until the pod's first sync.
	allocated map[string]corev1.ResourceRequirements

	// Only the worker's goroutine touches the fields below.
	// actuated is what each container was started with or updated to, by container ID.
	actuated map[string]corev1.ResourceRequirements
	// pending is the PodResizePending condition, nil when no resize waits.
	pending *corev1.PodCondition
	// infeasibleGen is the generation whose resize was found infeasible: it is not checked
	// again until the spec changes.
	infeasibleGen int64
	// inProgress is the PodResizeInProgress condition while a resize is being actuated (or
	// failed to be: reason Error).
	inProgress *corev1.PodCondition
}

// resizable visits the containers a resize applies to: the regular ones and the
// restartable init containers (sidecars).
func resizable(pod *corev1.Pod, visit func(c *corev1.Container)) {
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			visit(&pod.Spec.InitContainers[i])
		}
	}
	for i := range pod.Spec.Containers {
		visit(&pod.Spec.Containers[i])
	}
}

// allocation returns the pod's allocation, set at the first call: from the resources a
// previous kubelet reported for the containers (a restarted kubelet adopts running
// containers with what they were given), else from the spec (admission).
func (w *podWorker) allocation(pod *corev1.Pod) map[string]corev1.ResourceRequirements {
	r := &w.resize
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.allocated != nil {
		return r.allocated
	}
	reported := map[string]*corev1.ResourceRequirements{}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for i := range list {
			if list[i].Resources != nil {
				reported[list[i].Name] = list[i].Resources
			}
		}
	}
	r.allocated = map[string]corev1.ResourceRequirements{}
	resizable(pod, func(c *corev1.Container) {
		if rep, ok := reported[c.Name]; ok {
			r.allocated[c.Name] = *rep.DeepCopy()
		} else {
			r.allocated[c.Name] = cpuMemory(c.Resources)
		}
	})
	return r.allocated
}

// setAllocation replaces the pod's allocation.
func (w *podWorker) setAllocation(alloc map[string]corev1.ResourceRequirements) {
	w.resize.mu.Lock()
	w.resize.allocated = alloc
	w.resize.mu.Unlock()
}

// allocatedRequests is the pod's requests by its allocation (nil before its first sync).
func (w *podWorker) allocatedRequests(pod *corev1.Pod) corev1.ResourceList {
	w.resize.mu.Lock()
	alloc := w.resize.allocated
	w.resize.mu.Unlock()
	if alloc == nil {
		return nil
	}
	return podRequests(pod, alloc)
}

// podRequests is the pod's effective requests (init containers, sidecars and overhead
// counted as the scheduler counts them) with its resizable containers' resources taken from
// alloc.
func podRequests(pod *corev1.Pod, alloc map[string]corev1.ResourceRequirements) corev1.ResourceList {
	p := pod.DeepCopy()
	resizable(p, func(c *corev1.Container) {
		if r, ok := alloc[c.Name]; ok {
			c.Resources = *r.DeepCopy()
		}
	})
	return resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
}

// cpuMemory is r's cpu and memory requests and limits (what a resize can change).
func cpuMemory(r corev1.ResourceRequirements) corev1.ResourceRequirements {
	pick := func(l corev1.ResourceList) corev1.ResourceList {
		var out corev1.ResourceList
		for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := l[n]; ok {
				if out == nil {
					out = corev1.ResourceList{}
				}
				out[n] = q.DeepCopy()
			}
		}
		return out
	}
	return corev1.ResourceRequirements{Requests: pick(r.Requests), Limits: pick(r.Limits)}
}

// withAllocation returns c with its allocated cpu and memory in place of the spec's (a
// container started while a resize is deferred gets what the pod was allocated).
func (w *podWorker) withAllocation(pod *corev1.Pod, c *corev1.Container) *corev1.Container {
	a, ok := w.allocation(pod)[c.Name]
	if !ok || apiequality.Semantic.DeepEqual(a, cpuMemory(c.Resources)) {
		return c
	}
	out := c.DeepCopy()
	for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		delete(out.Resources.Requests, n)
		delete(out.Resources.Limits, n)
		if q, ok := a.Requests[n]; ok {
			if out.Resources.Requests == nil {
				out.Resources.Requests = corev1.ResourceList{}
			}
			out.Resources.Requests[n] = q
		}
		if q, ok := a.Limits[n]; ok {
			if out.Resources.Limits == nil {
				out.Resources.Limits = corev1.ResourceList{}
			}
			out.Resources.Limits[n] = q
		}
	}
	return out
}

// started records what a newly created container was given.
func (w *podWorker) started(id string, c *corev1.Container) {
	if w.resize.actuated == nil {
		w.resize.actuated = map[string]corev1.ResourceRequirements{}
	}
	w.resize.actuated[id] = cpuMemory(c.Resources)
}

// syncResize allocates a pending resize when it fits the node and actuates the allocation on
// the running containers; when it changed something in the runtime it returns the pod's
// containers observed again and true.
func (w *podWorker) syncResize(ctx context.Context, pod *corev1.Pod, sb *runtimeapi.PodSandbox, podIP string, view map[string]*history) (map[string]*history, bool) {
	if !w.actuateResize(ctx, pod, sb, podIP, view) {
		return view, false
	}
	ctrs, err := w.k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{LabelPodUID: string(pod.UID)}})
	if err != nil {
		return view, true
	}
	return w.observe(ctx, ctrs), true
}

// actuateResize is syncResize's work; it returns true when it changed something in the runtime.
func (w *podWorker) actuateResize(ctx context.Context, pod *corev1.Pod, sb *runtimeapi.PodSandbox, podIP string, view map[string]*history) bool {
	r := &w.resize
	alloc := w.allocation(pod)
	desired := map[string]corev1.ResourceRequirements{}
	resizable(pod, func(c *corev1.Container) { desired[c.Name] = cpuMemory(c.Resources) })
	switch {
	case apiequality.Semantic.DeepEqual(desired, alloc):
		r.pending = nil
	case r.pending != nil && r.pending.Reason == corev1.PodReasonInfeasible && r.infeasibleGen == pod.Generation:
		// Still infeasible: the spec did not change.
	default:
		reason, msg, err := w.k.resizeFits(ctx, pod, w, podRequests(pod, desired))
		switch {
		case err != nil:
			w.k.logf("pod %s/%s: resize: %v", pod.Namespace, pod.Name, err)
		case reason == "":
			w.setAllocation(desired)
			alloc, r.pending = desired, nil
			w.k.logf("pod %s/%s: resize allocated", pod.Namespace, pod.Name)
		default:
			r.pending = &corev1.PodCondition{Type: corev1.PodResizePending, Status: corev1.ConditionTrue, Reason: reason, Message: msg}
			r.infeasibleGen = pod.Generation
		}
	}
	if sb == nil {
		return false
	}
	changed := false
	var failure *corev1.PodCondition
	resizable(pod, func(c *corev1.Container) {
		h := view[c.Name]
		if h == nil || h.latest.State != runtimeapi.ContainerState_CONTAINER_RUNNING || h.sandboxID != sb.Id {
			return
		}
		want := alloc[c.Name]
		have := w.actuatedOf(pod, c.Name, h.latest.Id, want)
		if apiequality.Semantic.DeepEqual(have, want) {
			return
		}
		if r.inProgress == nil {
			// Visible while the containers are being resized.
			r.inProgress = &corev1.PodCondition{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue}
			w.postStatus(ctx, pod, w.buildStatus(pod, sb, view))
		}
		changed = true
		if needsRestart(c, have, want) {
			w.k.eventf(pod, c.Name, corev1.EventTypeNormal, "Killing", "Container %s resize requires restart", c.Name)
			w.k.logf("pod %s/%s: container %s: restarting for its resize", pod.Namespace, pod.Name, c.Name)
			if err := ignoreNotFound(w.k.runtime.StopContainer(ctx, h.latest.Id, w.gracePeriod(pod))); err != nil {
				failure = resizeError(fmt.Sprintf("stopping container %s: %v", c.Name, err))
				return
			}
			delete(w.probes, h.latest.Id)
			w.startContainer(ctx, pod, c, sb, podIP, h.attempt+1, h.previous)
			return
		}
		cfg := w.withAllocation(pod, c)
		if err := w.k.runtime.UpdateContainerResources(ctx, h.latest.Id, &runtimeapi.ContainerResources{Linux: linuxResources(cfg.Resources)}); err != nil {
			failure = resizeError(fmt.Sprintf("updating the resources of container %s: %v", c.Name, err))
			return
		}
		w.resize.actuated[h.latest.Id] = want
		w.k.logf("pod %s/%s: container %s resized", pod.Namespace, pod.Name, c.Name)
	})
	// Done (the restarted containers started with the allocation), or failed: retried next sync.
	r.inProgress = failure
	return changed
}

// resizeError is the PodResizeInProgress condition of an actuation that failed.
func resizeError(msg string) *corev1.PodCondition {
	return &corev1.PodCondition{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue, Reason: "Error", Message: msg}
}

// actuatedOf is what the running container id was given: recorded when this kubelet started
// or resized it, else (a container adopted after a restart of the kubelet) what the pod's
// status reported for it, else the allocation.
func (w *podWorker) actuatedOf(pod *corev1.Pod, name, id string, alloc corev1.ResourceRequirements) corev1.ResourceRequirements {
	if w.resize.actuated == nil {
		w.resize.actuated = map[string]corev1.ResourceRequirements{}
	}
	if a, ok := w.resize.actuated[id]; ok {
		return a
	}
	a := alloc
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, s := range list {
			if s.Name == name && s.Resources != nil && s.ContainerID == w.k.runtimeName()+"://"+id {
				a = cpuMemory(*s.Resources)
			}
		}
	}
	w.resize.actuated[id] = a
	return a
}

// needsRestart: a resource that changes has the resizePolicy RestartContainer.
func needsRestart(c *corev1.Container, have, want corev1.ResourceRequirements) bool {
	for _, p := range c.ResizePolicy {
		if p.RestartPolicy != corev1.RestartContainer {
			continue
		}
		n := p.ResourceName
		hr, wr := have.Requests[n], want.Requests[n]
		hl, wl := have.Limits[n], want.Limits[n]
		if !hr.Equal(wr) || !hl.Equal(wl) {
			return true
		}
	}
	return false
}

// resizeFits checks a resize of pod to the requests req as the allocation manager's
// canResizePod does: more than the node's allocatable is Infeasible ("Node didn't have
// enough capacity"), more than what the other pods' allocations leave is Deferred ("Node
// didn't have enough resource"); "" when it fits.
func (k *Kubelet) resizeFits(ctx context.Context, pod *corev1.Pod, self *podWorker, req corev1.ResourceList) (reason, msg string, err error) {
	node, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("reading the node's allocatable: %w", err)
	}
	alloc := node.Status.Allocatable
	cpuCap, memCap := alloc.Cpu().MilliValue(), alloc.Memory().Value()
	cpuReq, memReq := req.Cpu().MilliValue(), req.Memory().Value()
	switch {
	case memReq > memCap:
		return corev1.PodReasonInfeasible, fmt.Sprintf("Node didn't have enough capacity: memory, requested: %d, capacity: %d", memReq, memCap), nil
	case cpuReq > cpuCap:
		return corev1.PodReasonInfeasible, fmt.Sprintf("Node didn't have enough capacity: cpu, requested: %d, capacity: %d", cpuReq, cpuCap), nil
	}
	var cpuUsed, memUsed int64
	k.mu.Lock()
	others := make([]*podWorker, 0, len(k.workers))
	for _, w := range k.workers {
		if w != self {
			others = append(others, w)
		}
	}
	k.mu.Unlock()
	for _, w := range others {
		p := w.currentPod()
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		r := w.allocatedRequests(p)
		if r == nil {
			r = resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
		}
		cpuUsed += r.Cpu().MilliValue()
		memUsed += r.Memory().Value()
	}
	switch {
	case cpuReq+cpuUsed > cpuCap:
		return corev1.PodReasonDeferred, fmt.Sprintf("Node didn't have enough resource: cpu, requested: %d, used: %d, capacity: %d", cpuReq, cpuUsed, cpuCap), nil
	case memReq+memUsed > memCap:
		return corev1.PodReasonDeferred, fmt.Sprintf("Node didn't have enough resource: memory, requested: %d, used: %d, capacity: %d", memReq, memUsed, memCap), nil
	}
	return "", "", nil
}

// resizeConditions are the pod's PodResizePending and PodResizeInProgress conditions, when set.
func (w *podWorker) resizeConditions() []corev1.PodCondition {
	var out []corev1.PodCondition
	if c := w.resize.pending; c != nil {
		out = append(out, *c)
	}
	if c := w.resize.inProgress; c != nil {
		out = append(out, *c)
	}
	return out
}

// resizeStatus fills the resources of the resizable containers' statuses: allocatedResources
// is the allocation's requests, resources what the running container was given (the
// allocation for one that is not running: what it gets at its next start).
func (w *podWorker) resizeStatus(pod *corev1.Pod, view map[string]*history, st *corev1.PodStatus) {
	alloc := w.allocation(pod)
	fill := func(list []corev1.ContainerStatus) {
		for i := range list {
			cs := &list[i]
			a, ok := alloc[cs.Name]
			if !ok {
				continue
			}
			if len(a.Requests) > 0 {
				cs.AllocatedResources = a.Requests.DeepCopy()
			}
			res := a
			if h := view[cs.Name]; h != nil && cs.State.Running != nil {
				if got, ok := w.resize.actuated[h.latest.Id]; ok {
					res = got
				}
			}
			cs.Resources = res.DeepCopy()
		}
	}
	fill(st.ContainerStatuses)
	fill(st.InitContainerStatuses)
}
