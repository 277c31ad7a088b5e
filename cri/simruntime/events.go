package simruntime

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// eventBuffer is how many container events a subscriber may have unread; one that falls
// further behind loses its stream (it relists and subscribes again, as the kubelet's evented
// PLEG does when its stream breaks).
const eventBuffer = 4096

// GetContainerEvents implements RuntimeService: a stream of the lifecycle events of every
// sandbox and container (created, started, stopped, deleted) from the moment of the call, as
// containerd 1.7+ sends them to the kubelet's evented PLEG. A sandbox's events name the
// sandbox's ID as their container ID. Each event carries the status of the sandbox the
// container belongs to (ID, metadata, state, labels); ContainersStatuses is left empty.
func (r *Runtime) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	ch := make(chan *runtimeapi.ContainerEventResponse, eventBuffer)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return status.Error(codes.Unavailable, "runtime closed")
	}
	if r.subscribers == nil {
		r.subscribers = map[chan *runtimeapi.ContainerEventResponse]struct{}{}
	}
	r.subscribers[ch] = struct{}{}
	r.mu.Unlock()
	defer r.unsubscribe(ch)
	for {
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case ev, ok := <-ch:
			if !ok {
				return status.Error(codes.ResourceExhausted, "container event subscriber fell behind (or the runtime closed): relist and subscribe again")
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}

func (r *Runtime) unsubscribe(ch chan *runtimeapi.ContainerEventResponse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.subscribers[ch]; ok {
		delete(r.subscribers, ch)
		close(ch)
	}
}

// endEventsLocked ends every event stream.
func (r *Runtime) endEventsLocked() {
	for ch := range r.subscribers {
		delete(r.subscribers, ch)
		close(ch)
	}
}

// emitLocked sends one event about container (or sandbox) id of sandbox s to every subscriber.
func (r *Runtime) emitLocked(id string, typ runtimeapi.ContainerEventType, s *sandbox) {
	if len(r.subscribers) == 0 {
		return
	}
	var sb *runtimeapi.PodSandboxStatus
	if s != nil {
		sb = &runtimeapi.PodSandboxStatus{Id: s.id, Metadata: s.meta, State: s.state, CreatedAt: s.createdAt, Labels: s.labels}
	}
	ev := &runtimeapi.ContainerEventResponse{
		ContainerId: id, ContainerEventType: typ, CreatedAt: time.Now().UnixNano(), PodSandboxStatus: sb,
	}
	for ch := range r.subscribers {
		select {
		case ch <- ev:
		default:
			delete(r.subscribers, ch)
			close(ch)
		}
	}
}

// emitContainerLocked sends an event about container c.
func (r *Runtime) emitContainerLocked(c *container, typ runtimeapi.ContainerEventType) {
	if len(r.subscribers) == 0 {
		return
	}
	r.emitLocked(c.id, typ, r.sandboxes[c.sandboxID])
}
