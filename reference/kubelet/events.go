package kubelet

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// The kubelet writes its Events as the upstream kubelet does: through one client-go
// tools/record broadcaster (source component "kubelet", host the node's name), whose
// correlator aggregates repeated events into counts and filters spam. It runs from Run's start
// to its end; before Run (and in a podWorker built by hand) events are dropped.

// startEvents starts the kubelet's event broadcaster and returns the function that stops it.
func (k *Kubelet) startEvents(ctx context.Context) (stop func()) {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.client.CoreV1().Events("")})
	var r record.EventRecorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: k.cfg.NodeName})
	k.recorder.Store(&r)
	return func() {
		k.recorder.Store(nil)
		b.Shutdown()
	}
}

// eventf records an Event about pod, or about its container c when c is not "" (field path
// spec.containers{c} or spec.initContainers{c}).
func (k *Kubelet) eventf(pod *corev1.Pod, c, eventType, reason, messageFmt string, args ...any) {
	r := k.recorder.Load()
	if r == nil {
		return
	}
	ref := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
	if c != "" {
		ref.FieldPath = fmt.Sprintf("spec.containers{%s}", c)
		if isInit(pod, c) {
			ref.FieldPath = fmt.Sprintf("spec.initContainers{%s}", c)
		}
	}
	(*r).Eventf(ref, eventType, reason, messageFmt, args...)
}

// warn records a Warning event on pod (on its container c when c is not ""), as the
// kubelet's event recorder reports a refused container or a rejected pod.
func (w *podWorker) warn(_ context.Context, pod *corev1.Pod, c, reason, message string) {
	w.k.eventf(pod, c, corev1.EventTypeWarning, reason, "%s", message)
}
