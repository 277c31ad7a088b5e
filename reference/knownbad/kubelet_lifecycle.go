package knownbad

import (
	"context"
	"time"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/reference/kubelet"
)

// KubeletNotAwaitingInitContainers wraps the kubelet's runtime so that an init container
// counts as completed (exit code 0) as soon as it runs: the kubelet starts the next init
// container, and the app containers, while it still runs — init containers in parallel.
func KubeletNotAwaitingInitContainers(rt cri.RuntimeService) cri.RuntimeService {
	return initNotAwaited{rt}
}

type initNotAwaited struct{ cri.RuntimeService }

func isInitContainer(labels map[string]string) bool {
	return labels[kubelet.LabelContainerType] == "init"
}

func (i initNotAwaited) ContainerStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	resp, err := i.RuntimeService.ContainerStatus(ctx, id, verbose)
	if err != nil || resp.GetStatus() == nil {
		return resp, err
	}
	if s := resp.Status; isInitContainer(s.Labels) && s.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		s.State, s.ExitCode, s.Reason = runtimeapi.ContainerState_CONTAINER_EXITED, 0, "Completed"
		s.FinishedAt = s.StartedAt
		if s.FinishedAt == 0 {
			s.FinishedAt = time.Now().UnixNano()
		}
	}
	return resp, nil
}

func (i initNotAwaited) ListContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	list, err := i.RuntimeService.ListContainers(ctx, f)
	for _, c := range list {
		if isInitContainer(c.Labels) && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			c.State = runtimeapi.ContainerState_CONTAINER_EXITED
		}
	}
	return list, err
}

// KubeletIgnoringInitFailures wraps the kubelet's runtime so that every init container
// that ended reads as having succeeded: the kubelet goes on to the app containers after a
// failed init container.
func KubeletIgnoringInitFailures(rt cri.RuntimeService) cri.RuntimeService {
	return initFailuresIgnored{rt}
}

type initFailuresIgnored struct{ cri.RuntimeService }

func (i initFailuresIgnored) ContainerStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	resp, err := i.RuntimeService.ContainerStatus(ctx, id, verbose)
	if err != nil || resp.GetStatus() == nil {
		return resp, err
	}
	if s := resp.Status; isInitContainer(s.Labels) && s.State == runtimeapi.ContainerState_CONTAINER_EXITED && s.ExitCode != 0 {
		s.ExitCode, s.Reason = 0, "Completed"
	}
	return resp, nil
}

// KubeletSkippingExecHooks wraps the kubelet's runtime so that the commands it runs in
// containers itself (ExecSync: exec lifecycle hooks and exec probes) answer success at once
// without running: postStart and preStop exec hooks are skipped.
func KubeletSkippingExecHooks(rt cri.RuntimeService) cri.RuntimeService {
	return execSkipped{rt}
}

type execSkipped struct{ cri.RuntimeService }

func (execSkipped) ExecSync(context.Context, string, []string, time.Duration) ([]byte, []byte, error) {
	return nil, nil, nil
}
