package kubelet

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// warn records a Warning event on pod (on its container c when c is not
// ""), once per worker for the same reason and message, as the kubelet's
// event recorder reports a refused container or a rejected pod.
func (w *podWorker) warn(ctx context.Context, pod *corev1.Pod, c, reason, message string) {
	key := c + "\x00" + reason + "\x00" + message
	if w.warned[key] {
		return
	}
	k := w.k
	ref := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
	if c != "" {
		ref.FieldPath = fmt.Sprintf("spec.containers{%s}", c)
	}
	now := metav1.NewTime(k.cfg.Clock.Now())
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", pod.Name, now.UnixNano()), Namespace: pod.Namespace},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             message,
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: "kubelet", Host: k.cfg.NodeName},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: "kubelet",
		ReportingInstance:   k.cfg.NodeName,
	}
	if _, err := k.client.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		k.logf("pod %s/%s: recording event %s: %v", pod.Namespace, pod.Name, reason, err)
		return
	}
	w.warned[key] = true
}
