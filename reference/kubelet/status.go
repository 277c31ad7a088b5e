package kubelet

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

func nanoTime(ns int64) metav1.Time {
	if ns == 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(time.Unix(0, ns).Truncate(time.Second))
}

func terminated(s *runtimeapi.ContainerStatus, runtimeName string) *corev1.ContainerStateTerminated {
	reason := s.Reason
	if reason == "" {
		reason = "Completed"
		if s.ExitCode != 0 {
			reason = "Error"
		}
	}
	return &corev1.ContainerStateTerminated{
		ExitCode:    s.ExitCode,
		Reason:      reason,
		Message:     s.Message,
		StartedAt:   nanoTime(s.StartedAt),
		FinishedAt:  nanoTime(s.FinishedAt),
		ContainerID: runtimeName + "://" + s.Id,
	}
}

// buildStatus computes the pod's status from what the runtime holds.
func (w *podWorker) buildStatus(pod *corev1.Pod, sb *runtimeapi.PodSandbox, view map[string]*history) corev1.PodStatus {
	k := w.k
	rt := k.runtimeName()
	now := metav1.NewTime(k.cfg.Clock.Now().Truncate(time.Second))
	if w.startTime == nil {
		w.startTime = &now
	}
	st := corev1.PodStatus{
		HostIP:    k.cfg.NodeIP,
		HostIPs:   []corev1.HostIP{{IP: k.cfg.NodeIP}},
		StartTime: w.startTime,
		QOSClass:  qosClass(pod),
		// The generation of the spec this status was computed from (PodObservedGenerationTracking).
		ObservedGeneration: pod.Generation,
	}
	if w.lastPosted != nil {
		st.PodIP, st.PodIPs = w.lastPosted.PodIP, w.lastPosted.PodIPs
	}
	if sb != nil {
		if ip := w.sandboxIPs[sb.Id]; ip != "" {
			st.PodIP, st.PodIPs = ip, []corev1.PodIP{{IP: ip}}
		}
	}
	var waiting, running, stopped, succeeded, failed int
	allReady := len(pod.Spec.Containers) > 0
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false)}
		h := view[c.Name]
		if h == nil {
			w := w.waiting[c.Name]
			if w == nil {
				w = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			}
			cs.State.Waiting = w
			waiting++
			allReady = false
			st.ContainerStatuses = append(st.ContainerStatuses, cs)
			continue
		}
		l := h.latest
		cs.RestartCount = int32(h.attempt)
		cs.ImageID = l.ImageRef
		if l.GetImage().GetImage() != "" && l.ImageRef != "" {
			cs.ImageID = l.ImageRef
		}
		cs.ContainerID = rt + "://" + l.Id
		if h.previous != nil && h.previous.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			cs.LastTerminationState.Terminated = w.terminatedState(pod, &c, h.previous)
		}
		switch l.State {
		case runtimeapi.ContainerState_CONTAINER_RUNNING:
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: nanoTime(l.StartedAt)}
			p := w.probes[l.Id]
			started := c.StartupProbe == nil || p != nil && p.started
			ready := started && (c.ReadinessProbe == nil || (p != nil && p.ready))
			cs.Started, cs.Ready = ptr.To(started), ready
			running++
		case runtimeapi.ContainerState_CONTAINER_CREATED:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			if wr := w.waiting[c.Name]; wr != nil {
				cs.State.Waiting = wr
			}
			waiting++
		default:
			term := w.terminatedState(pod, &c, l)
			if restarts(pod, l.ExitCode) {
				wr := w.waiting[c.Name]
				if wr == nil {
					wr = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
				}
				cs.State.Waiting = wr
				cs.LastTerminationState = corev1.ContainerState{Terminated: term}
				stopped++
				if l.ExitCode == 0 {
					succeeded++
				} else {
					failed++
				}
			} else {
				cs.State.Terminated = term
				stopped++
				if l.ExitCode == 0 {
					succeeded++
				} else {
					failed++
				}
			}
		}
		if !cs.Ready {
			allReady = false
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	switch {
	case waiting > 0:
		st.Phase = corev1.PodPending
	case running > 0:
		st.Phase = corev1.PodRunning
	case stopped > 0:
		switch pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			st.Phase = corev1.PodSucceeded
			if failed > 0 {
				st.Phase = corev1.PodFailed
			}
		case corev1.RestartPolicyOnFailure:
			st.Phase = corev1.PodRunning
			if succeeded == stopped {
				st.Phase = corev1.PodSucceeded
			}
		default:
			st.Phase = corev1.PodRunning
		}
	default:
		st.Phase = corev1.PodPending
	}
	ip := w.applyInit(pod, view, &st)
	if !ip.done {
		st.Phase = corev1.PodPending
		if ip.failed {
			st.Phase = corev1.PodFailed
		}
		allReady = false
	}
	for i, cs := range st.InitContainerStatuses {
		if isSidecar(&pod.Spec.InitContainers[i]) && !cs.Ready {
			allReady = false
		}
	}
	if st.Phase != corev1.PodRunning {
		allReady = false
	}
	initialized := corev1.ConditionTrue
	if !ip.done {
		initialized = corev1.ConditionFalse
	}
	sandboxReady := corev1.ConditionFalse
	if sb != nil && st.Phase != corev1.PodSucceeded && st.Phase != corev1.PodFailed {
		sandboxReady = corev1.ConditionTrue
	}
	ready := corev1.ConditionFalse
	if allReady {
		ready = corev1.ConditionTrue
	}
	conds := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: sandboxReady},
		{Type: corev1.PodInitialized, Status: initialized},
		{Type: corev1.ContainersReady, Status: ready},
		{Type: corev1.PodReady, Status: ready},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	}
	if !ip.done {
		conds[1].Reason, conds[1].Message = "ContainersNotInitialized", "containers with incomplete status: "+joinNames(ip.incomplete)
	}
	if ready == corev1.ConditionFalse && st.Phase != corev1.PodSucceeded && st.Phase != corev1.PodFailed {
		var notReady []string
		for i, cs := range st.InitContainerStatuses {
			if isSidecar(&pod.Spec.InitContainers[i]) && !cs.Ready {
				notReady = append(notReady, cs.Name)
			}
		}
		for _, cs := range st.ContainerStatuses {
			if !cs.Ready {
				notReady = append(notReady, cs.Name)
			}
		}
		if len(notReady) > 0 {
			conds[2].Reason, conds[3].Reason = "ContainersNotReady", "ContainersNotReady"
			msg := "containers with unready status: " + joinNames(notReady)
			conds[2].Message, conds[3].Message = msg, msg
		}
	} else if st.Phase == corev1.PodSucceeded {
		conds[2].Reason, conds[3].Reason = "PodCompleted", "PodCompleted"
	} else if st.Phase == corev1.PodFailed {
		conds[2].Reason, conds[3].Reason = "PodFailed", "PodFailed"
	}
	conds = append(conds, w.resizeConditions()...)
	// Keep each condition's transition time while its status is unchanged.
	var old []corev1.PodCondition
	if w.lastPosted != nil {
		old = w.lastPosted.Conditions
	} else {
		old = pod.Status.Conditions
	}
	for i := range conds {
		conds[i].ObservedGeneration = pod.Generation
		conds[i].LastTransitionTime = now
		for _, o := range old {
			if o.Type == conds[i].Type && o.Status == conds[i].Status {
				conds[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	st.Conditions = conds
	st.EphemeralContainerStatuses = w.ephemeralStatuses(pod, view)
	w.resizeStatus(pod, view, &st)
	return st
}

func joinNames(names []string) string {
	out := "["
	for i, n := range names {
		if i > 0 {
			out += " "
		}
		out += n
	}
	return out + "]"
}

// qosClass is the pod's quality-of-service class.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits, guaranteed := 0, 0, true
	for _, c := range pod.Spec.Containers {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq && !req.IsZero() {
				requests++
			}
			if hasLim && !lim.IsZero() {
				limits++
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case requests == 0 && limits == 0:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
