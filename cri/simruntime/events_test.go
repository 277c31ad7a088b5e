package simruntime_test

import (
	"fmt"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// TestContainerEvents: GetContainerEvents streams every sandbox's and container's lifecycle
// (created, started, stopped, deleted) in order, each event naming its pod through the
// sandbox status, as the kubelet's evented PLEG needs.
func TestContainerEvents(t *testing.T) {
	e := start(t, simruntime.Options{})
	stream, err := e.rt.GetContainerEvents(e.ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *runtimeapi.ContainerEventResponse, 100)
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				close(got)
				return
			}
			got <- ev
		}
	}()
	// The stream is open once the server has the subscriber: wait for the first event of a
	// sandbox made for that purpose.
	var sb string
	deadline := time.After(10 * time.Second)
	for i := 0; sb == ""; i++ {
		id, _ := e.sandbox(fmt.Sprintf("probe-%d", i))
		select {
		case ev := <-got:
			if ev.ContainerId == id {
				sb = id
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no event of a new sandbox within 10 s")
		}
	}
	next := func(what string) *runtimeapi.ContainerEventResponse {
		t.Helper()
		for {
			select {
			case ev, ok := <-got:
				if !ok {
					t.Fatalf("stream ended waiting for %s", what)
				}
				if ev.GetPodSandboxStatus().GetId() == sb {
					return ev
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no event %s within 10 s", what)
			}
		}
	}
	want := func(ev *runtimeapi.ContainerEventResponse, id string, typ runtimeapi.ContainerEventType) {
		t.Helper()
		if ev.ContainerId != id || ev.ContainerEventType != typ {
			t.Fatalf("event %s %s, want %s %s", ev.ContainerId, ev.ContainerEventType, id, typ)
		}
		if ev.GetPodSandboxStatus().GetMetadata().GetUid() == "" || ev.CreatedAt == 0 {
			t.Fatalf("event %s %s names no pod UID or time: %v", ev.ContainerId, ev.ContainerEventType, ev)
		}
	}
	want(next("sandbox started"), sb, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT)
	c := e.create(sb, "c", behavior.TestImage, nil, []string{"exit", "--code", "3", "--after", "200ms"})
	want(next("container created"), c, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT)
	if _, err := e.rt.StartContainer(e.ctx, &runtimeapi.StartContainerRequest{ContainerId: c}); err != nil {
		t.Fatal(err)
	}
	want(next("container started"), c, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT)
	want(next("container exited"), c, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT)
	if _, err := e.rt.RemoveContainer(e.ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c}); err != nil {
		t.Fatal(err)
	}
	want(next("container removed"), c, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT)
	if _, err := e.rt.StopPodSandbox(e.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	want(next("sandbox stopped"), sb, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT)
	if _, err := e.rt.RemovePodSandbox(e.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	want(next("sandbox removed"), sb, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT)
}
