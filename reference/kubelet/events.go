package kubelet

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
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

// nodeEventf records an Event about the kubelet's Node. The reference is the upstream
// kubelet's: kind Node, the node's name, and the name again as UID (the kubelet names its
// Node before it knows the object), so the Event lands in namespace default.
func (k *Kubelet) nodeEventf(eventType, reason, messageFmt string, args ...any) {
	r := k.recorder.Load()
	if r == nil {
		return
	}
	ref := &corev1.ObjectReference{Kind: "Node", Name: k.cfg.NodeName, UID: types.UID(k.cfg.NodeName)}
	(*r).Eventf(ref, eventType, reason, messageFmt, args...)
}

// Node condition Events, by condition type and the status the kubelet posts (the upstream
// kubelet's nodestatus setters).
var conditionEventReasons = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeMemoryPressure: {corev1.ConditionTrue: "NodeHasInsufficientMemory", corev1.ConditionFalse: "NodeHasSufficientMemory"},
	corev1.NodeDiskPressure:   {corev1.ConditionTrue: "NodeHasDiskPressure", corev1.ConditionFalse: "NodeHasNoDiskPressure"},
	corev1.NodePIDPressure:    {corev1.ConditionTrue: "NodeHasInsufficientPID", corev1.ConditionFalse: "NodeHasSufficientPID"},
	corev1.NodeReady:          {corev1.ConditionTrue: "NodeReady", corev1.ConditionFalse: "NodeNotReady"},
}

// conditionEvents records, once the kubelet has posted cur over prev (the conditions the API
// held), the Normal Event "Node NAME status is now: REASON" of each condition whose status
// changed, as the upstream kubelet does: a pressure condition's when it changes (from
// Unknown, as the node lifecycle controller leaves it, or missing too), Ready's only when an
// existing Ready condition changes (NodeReady, NodeNotReady). A starting kubelet records its
// pressure conditions once whatever the API held (upstream sets them on the Node it builds
// at registration), so `kubectl describe node` shows them after every start.
func (k *Kubelet) conditionEvents(prev, cur []corev1.NodeCondition, starting bool) {
	before := map[corev1.NodeConditionType]corev1.ConditionStatus{}
	for _, c := range prev {
		before[c.Type] = c.Status
	}
	for _, c := range cur {
		reason := conditionEventReasons[c.Type][c.Status]
		if reason == "" {
			continue
		}
		old, had := before[c.Type]
		if c.Type == corev1.NodeReady {
			if !had || old == c.Status {
				continue
			}
		} else if had && old == c.Status && !starting {
			continue
		}
		k.nodeEventf(corev1.EventTypeNormal, reason, "Node %s status is now: %s", k.cfg.NodeName, reason)
	}
}

// warn records a Warning event on pod (on its container c when c is not ""), as the
// kubelet's event recorder reports a refused container or a rejected pod.
func (w *podWorker) warn(_ context.Context, pod *corev1.Pod, c, reason, message string) {
	w.k.eventf(pod, c, corev1.EventTypeWarning, reason, "%s", message)
}
