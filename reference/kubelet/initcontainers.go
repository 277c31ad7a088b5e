package kubelet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

// Init containers run one after the other, each to completion, before the app containers;
// sidecars (init containers with restartPolicy Always) start in their turn, keep running
// and are restarted whenever they exit.

// LabelContainerType marks the CRI containers of init containers: "init", or "sidecar" for
// one with restartPolicy Always (app containers carry no such label).
const LabelContainerType = "clusterkit.io/container-type"

// lifecycleConfig adds to container c's CRI config what its lifecycle needs: the
// termination message file and the init container label.
func (w *podWorker) lifecycleConfig(pod *corev1.Pod, c *corev1.Container, attempt uint32, cfg *runtimeapi.ContainerConfig) error {
	if isInit(pod, c.Name) {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[LabelContainerType] = "init"
		if isSidecar(c) {
			cfg.Labels[LabelContainerType] = "sidecar"
		}
	}
	return w.terminationMount(pod, c, attempt, cfg)
}

// isSidecar reports whether the init container c is a sidecar (restartPolicy Always).
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// restartsContainer reports whether container c, exited with code, is started again: a
// sidecar always, a regular init container when it failed (unless the pod's restartPolicy is
// Never), an app container per the pod's restartPolicy.
func restartsContainer(pod *corev1.Pod, c *corev1.Container, code int32) bool {
	if isSidecar(c) {
		return true
	}
	if isInit(pod, c.Name) {
		return code != 0 && pod.Spec.RestartPolicy != corev1.RestartPolicyNever
	}
	return restarts(pod, code)
}

// isInit reports whether name is one of the pod's init containers.
func isInit(pod *corev1.Pod, name string) bool {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return true
		}
	}
	return false
}

// initProgress is where the pod's init containers stand.
type initProgress struct {
	// done: every regular init container succeeded and every sidecar started (or an app
	// container exists: the pod was initialized before, e.g. by this kubelet before a
	// restart, and its init containers are not run again).
	done bool
	// failed: a regular init container failed and is not restarted (restartPolicy Never).
	failed bool
	// incomplete are the init containers not yet complete, in order.
	incomplete []string
}

// appStarted reports whether any app container of the pod exists in its current sandbox.
func (w *podWorker) appStarted(pod *corev1.Pod, view map[string]*history) bool {
	for _, c := range pod.Spec.Containers {
		if w.current(view[c.Name]) {
			return true
		}
	}
	return false
}

// current reports whether h ran in the pod's current sandbox (any sandbox before the first
// is known). After the sandbox is recreated, as the kubelet does after a sandbox died, the
// pod starts over: its init containers run again, in order, before its app containers.
func (w *podWorker) current(h *history) bool {
	return h != nil && (w.sandboxID == "" || h.sandboxID == w.sandboxID)
}

// sidecarStarted reports whether the sidecar's latest container runs and passed its startup
// probe.
func (w *podWorker) sidecarStarted(c *corev1.Container, h *history) bool {
	if h == nil || h.latest.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return false
	}
	if c.StartupProbe == nil {
		return true
	}
	p := w.probes[h.latest.Id]
	return p != nil && p.started
}

func (w *podWorker) initProgress(pod *corev1.Pod, view map[string]*history) initProgress {
	var p initProgress
	started := w.appStarted(pod, view)
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		h := view[c.Name]
		if isSidecar(c) {
			if !w.sidecarStarted(c, h) && !(started && h != nil) {
				p.incomplete = append(p.incomplete, c.Name)
			}
			continue
		}
		if h != nil && h.latest.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			if h.latest.ExitCode == 0 && w.current(h) {
				continue
			}
			if pod.Spec.RestartPolicy == corev1.RestartPolicyNever && !started {
				p.failed = true
			}
		}
		if started && h == nil {
			continue // removed after the pod was initialized
		}
		p.incomplete = append(p.incomplete, c.Name)
	}
	p.done = started || len(p.incomplete) == 0
	return p
}

// syncInitContainers drives the init containers: it starts the first one not done yet (and
// every sidecar before it), restarts failed ones per the restart policy and keeps sidecars
// running. It returns whether initialization is done (the app containers may run) and
// whether it changed something in the runtime.
func (w *podWorker) syncInitContainers(ctx context.Context, pod *corev1.Pod, sb *runtimeapi.PodSandbox, podIP string, view map[string]*history) (done, changed bool) {
	started := w.appStarted(pod, view)
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		h := view[c.Name]
		if isSidecar(c) {
			if w.syncContainer(ctx, pod, c, sb, podIP, h) {
				changed = true
			}
			if !started && !w.sidecarStarted(c, h) {
				return false, changed // the next one waits until this sidecar has started
			}
			continue
		}
		if started {
			continue // initialized before: never run again
		}
		if h != nil && h.latest.State == runtimeapi.ContainerState_CONTAINER_EXITED && h.sandboxID != sb.Id {
			// Completed (or failed) in a sandbox that is gone: run it again in this one.
			return false, w.startContainer(ctx, pod, c, sb, podIP, h.attempt+1, h.previous)
		}
		if h != nil && h.latest.State == runtimeapi.ContainerState_CONTAINER_EXITED && h.latest.ExitCode == 0 {
			continue
		}
		if w.syncContainer(ctx, pod, c, sb, podIP, h) {
			changed = true
		}
		return false, changed
	}
	return true, changed
}

// initStatuses are the pod's initContainerStatuses.
func (w *podWorker) initStatuses(pod *corev1.Pod, view map[string]*history) []corev1.ContainerStatus {
	if len(pod.Spec.InitContainers) == 0 {
		return nil
	}
	rt := w.k.runtimeName()
	out := make([]corev1.ContainerStatus, 0, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false)}
		h := view[c.Name]
		if h == nil {
			wr := w.waiting[c.Name]
			if wr == nil {
				wr = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
			}
			cs.State.Waiting = wr
			out = append(out, cs)
			continue
		}
		l := h.latest
		cs.RestartCount = int32(h.attempt)
		cs.ImageID = l.ImageRef
		cs.ContainerID = rt + "://" + l.Id
		if h.previous != nil && h.previous.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			cs.LastTerminationState.Terminated = w.terminatedState(pod, c, h.previous)
		}
		switch l.State {
		case runtimeapi.ContainerState_CONTAINER_RUNNING:
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: nanoTime(l.StartedAt)}
			if isSidecar(c) {
				p := w.probes[l.Id]
				started := w.sidecarStarted(c, h)
				cs.Started = ptr.To(started)
				cs.Ready = started && (c.ReadinessProbe == nil || (p != nil && p.ready))
			} else {
				cs.Started = ptr.To(true)
			}
		case runtimeapi.ContainerState_CONTAINER_CREATED:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
			if wr := w.waiting[c.Name]; wr != nil {
				cs.State.Waiting = wr
			}
		default:
			term := w.terminatedState(pod, c, l)
			again := restartsContainer(pod, c, l.ExitCode)
			if isSidecar(c) {
				again = !w.wouldBeTerminal(pod, view)
			} else if w.appStarted(pod, view) {
				again = false
			}
			if again {
				wr := w.waiting[c.Name]
				if wr == nil {
					wr = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
				}
				cs.State.Waiting = wr
				cs.LastTerminationState = corev1.ContainerState{Terminated: term}
			} else {
				cs.State.Terminated = term
				cs.Ready = l.ExitCode == 0 && !isSidecar(c)
			}
		}
		out = append(out, cs)
	}
	return out
}

// initializedCondition sets the Initialized condition (conds[1] in buildStatus) and, while
// the pod initializes, makes the app containers wait with reason PodInitializing.
func (w *podWorker) applyInit(pod *corev1.Pod, view map[string]*history, st *corev1.PodStatus) (p initProgress) {
	if len(pod.Spec.InitContainers) == 0 {
		return initProgress{done: true}
	}
	p = w.initProgress(pod, view)
	st.InitContainerStatuses = w.initStatuses(pod, view)
	if p.done {
		return p
	}
	for i := range st.ContainerStatuses {
		cs := &st.ContainerStatuses[i]
		if cs.State.Waiting != nil && cs.State.Waiting.Reason == "ContainerCreating" {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
		}
	}
	return p
}

// hasSidecars reports whether the pod has sidecar containers.
func hasSidecars(pod *corev1.Pod) bool {
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			return true
		}
	}
	return false
}
