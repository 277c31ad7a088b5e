package scheduler

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
)

// Event reasons and actions of the scheduler, as kube-scheduler writes them.
const (
	reasonScheduled        = "Scheduled"
	reasonFailedScheduling = "FailedScheduling"
	actionBinding          = "Binding"
	actionScheduling       = "Scheduling"
	// maxEventMessage is the longest event note the API accepts (upstream truncates to it).
	maxEventMessage = 1024
)

// eventRecorder starts client-go's event broadcaster as kube-scheduler does (events.k8s.io/v1
// when the server serves it, else core/v1) and returns a recorder reporting as the
// scheduler's name, and the function that flushes and stops it.
func eventRecorder(ctx context.Context, client kubernetes.Interface, name string) (events.EventRecorder, func()) {
	b := events.NewEventBroadcasterAdapterWithContext(ctx, client)
	b.StartRecordingToSink(ctx.Done())
	return b.NewRecorder(name), b.Shutdown
}

// recordScheduled writes the Scheduled event of a pod bound to node.
func (r *run) recordScheduled(pod *corev1.Pod, node string) {
	r.recorder.Eventf(pod, nil, corev1.EventTypeNormal, reasonScheduled, actionBinding,
		"Successfully assigned %v/%v to %v", pod.Namespace, pod.Name, node)
}

// recordFailedScheduling writes the FailedScheduling event of a pod that fits nowhere.
func (r *run) recordFailedScheduling(pod *corev1.Pod, message string) {
	if len(message) > maxEventMessage {
		message = message[:maxEventMessage-3] + "..."
	}
	r.recorder.Eventf(pod, nil, corev1.EventTypeWarning, reasonFailedScheduling, actionScheduling, "%s", message)
}
