package kubelet

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Local storage eviction, as Kubernetes' eviction manager does it for emptyDir volumes
// (pkg/kubelet/eviction, emptyDirLimitEviction): a pod whose disk emptyDir holds more than
// its sizeLimit is evicted: its containers killed at once, the pod Failed with reason
// Evicted.

// ReasonEvicted is the status reason and event reason of an evicted pod.
const ReasonEvicted = "Evicted"

// emptyDirCheckInterval is how often the usage of a pod's emptyDir volumes with a sizeLimit
// is measured.
const emptyDirCheckInterval = 5 * time.Second

// emptyDirOverLimit measures (at most every emptyDirCheckInterval) the pod's disk emptyDir
// volumes that have a sizeLimit and returns the eviction message of the first one over it,
// "" when none is.
func (w *podWorker) emptyDirOverLimit(pod *corev1.Pod) string {
	now := time.Now()
	if now.Sub(w.emptyDirChecked) < emptyDirCheckInterval || w.volumeDirs == nil {
		return ""
	}
	w.emptyDirChecked = now
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium == corev1.StorageMediumMemory || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.Sign() <= 0 {
			continue
		}
		dir := w.volumeDirs[v.Name]
		if dir == "" {
			continue
		}
		used := resource.NewQuantity(diskUsage(dir), resource.BinarySI)
		if used.Cmp(*v.EmptyDir.SizeLimit) > 0 {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", v.Name, v.EmptyDir.SizeLimit.String())
		}
	}
	return ""
}

// diskUsage is the bytes the files under dir take (the larger of their size and their
// allocated blocks, as du counts them), not following symbolic links.
func diskUsage(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += max(info.Size(), allocated(info))
		}
		return nil
	})
	return total
}

// evict evicts the pod from the node: a Warning event Evicted, its containers killed at
// once, and the pod Failed with reason Evicted, message msg and the DisruptionTarget
// condition the kubelet sets.
func (w *podWorker) evict(ctx context.Context, pod *corev1.Pod, msg string) {
	k := w.k
	k.logf("pod %s/%s: evicted: %s", pod.Namespace, pod.Name, msg)
	w.event(ctx, pod, "", corev1.EventTypeWarning, ReasonEvicted, msg)
	w.killPod(ctx, pod, 0)
	sel := map[string]string{LabelPodUID: string(pod.UID)}
	ctrs, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return
	}
	view := w.observe(ctx, ctrs)
	st := w.buildStatus(pod, nil, view)
	st.Phase, st.Reason, st.Message = corev1.PodFailed, ReasonEvicted, msg
	for i := range st.Conditions {
		switch st.Conditions[i].Type {
		case corev1.PodReady, corev1.ContainersReady:
			st.Conditions[i].Status, st.Conditions[i].Reason, st.Conditions[i].Message = corev1.ConditionFalse, "PodFailed", ""
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet", Message: msg,
		LastTransitionTime: metav1.NewTime(k.cfg.Clock.Now()),
	})
	for _, list := range [][]corev1.ContainerStatus{st.ContainerStatuses, st.InitContainerStatuses} {
		for i := range list {
			list[i].Ready = false
		}
	}
	w.postStatus(ctx, pod, st)
	w.terminal = true
	sbs, _ := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	for _, s := range sbs {
		_ = ignoreNotFound(k.runtime.StopPodSandbox(ctx, s.Id))
	}
}
