package versions

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// EventsV1 converts events.k8s.io/v1 Events to and from the core/v1 Events they are stored as
// (one object, two views, as kube-apiserver serves both from one storage). It is a
// registry.VersionConverter.
type EventsV1 struct{}

// ToStorage converts an events.k8s.io/v1 Event to core/v1.
func (EventsV1) ToStorage(_ context.Context, obj runtime.Object) (runtime.Object, error) {
	in, ok := obj.(*eventsv1.Event)
	if !ok {
		return nil, fmt.Errorf("converting to core/v1: %T is not an events.k8s.io/v1 Event", obj)
	}
	return EventToCore(in)
}

// FromStorage converts a stored core/v1 Event to events.k8s.io/v1.
func (EventsV1) FromStorage(_ context.Context, obj runtime.Object) (runtime.Object, error) {
	in, ok := obj.(*corev1.Event)
	if !ok {
		return nil, fmt.Errorf("converting to events.k8s.io/v1: %T is not a core/v1 Event", obj)
	}
	return EventToV1(in)
}

// NewStored returns an empty stored object.
func (EventsV1) NewStored() runtime.Object { return &corev1.Event{} }

// EventToCore converts an events.k8s.io/v1 Event to core/v1: regarding is involvedObject,
// note is message, reportingController is reportingComponent, the deprecated fields are the
// core ones. It never fails; the error is the converters' signature.
func EventToCore(in *eventsv1.Event) (*corev1.Event, error) {
	out := &corev1.Event{
		TypeMeta:            in.TypeMeta,
		ObjectMeta:          *in.ObjectMeta.DeepCopy(),
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	out.APIVersion = corev1.SchemeGroupVersion.String()
	if in.Related != nil {
		out.Related = in.Related.DeepCopy()
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out, nil
}

// EventToV1 converts a core/v1 Event to events.k8s.io/v1 (the inverse of EventToCore).
func EventToV1(in *corev1.Event) (*eventsv1.Event, error) {
	out := &eventsv1.Event{
		TypeMeta:                 in.TypeMeta,
		ObjectMeta:               *in.ObjectMeta.DeepCopy(),
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	out.APIVersion = eventsv1.SchemeGroupVersion.String()
	if in.Related != nil {
		out.Related = in.Related.DeepCopy()
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out, nil
}
