package kubelet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

// syncEphemeral starts the pod's ephemeral containers (added through
// pods/NAME/ephemeralcontainers, e.g. by kubectl debug) in its running sandbox. As the
// kubelet does, each runs once: it is never restarted, whatever the pod's restartPolicy,
// and has no probes. It returns true when it changed something in the runtime.
func (w *podWorker) syncEphemeral(ctx context.Context, pod *corev1.Pod, sb *runtimeapi.PodSandbox, podIP string, view map[string]*history) bool {
	changed := false
	for i := range pod.Spec.EphemeralContainers {
		c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		h := view[c.Name]
		switch {
		case h == nil:
			if w.startContainer(ctx, pod, &c, sb, podIP, 0, nil) {
				changed = true
			}
		case h.latest.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			if err := w.k.runtime.StartContainer(ctx, h.latest.Id); err != nil {
				w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
			}
			changed = true
		}
	}
	return changed
}

// ephemeralStatuses are the pod's ephemeralContainerStatuses: never ready, never restarted.
func (w *podWorker) ephemeralStatuses(pod *corev1.Pod, view map[string]*history) []corev1.ContainerStatus {
	rt := w.k.runtimeName()
	var out []corev1.ContainerStatus
	for _, ec := range pod.Spec.EphemeralContainers {
		cs := corev1.ContainerStatus{Name: ec.Name, Image: ec.Image, Started: ptr.To(false)}
		h := view[ec.Name]
		switch {
		case h == nil:
			wr := w.waiting[ec.Name]
			if wr == nil {
				wr = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			}
			cs.State.Waiting = wr
		case h.latest.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
			cs.ContainerID, cs.ImageID = rt+"://"+h.latest.Id, h.latest.ImageRef
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: nanoTime(h.latest.StartedAt)}
			cs.Started = ptr.To(true)
		case h.latest.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			cs.ContainerID, cs.ImageID = rt+"://"+h.latest.Id, h.latest.ImageRef
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		default:
			cs.ContainerID, cs.ImageID = rt+"://"+h.latest.Id, h.latest.ImageRef
			cs.State.Terminated = terminated(h.latest, rt)
		}
		out = append(out, cs)
	}
	return out
}
