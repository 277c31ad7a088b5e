package knownbad

import (
	"context"
	"fmt"
	"sync"
	"time"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/reference/kubelet"
)

// The known-bad kubelets are clusterkit's kubelet with one bug each, put in
// where a real kubelet could have it: in its configuration or between it
// and its container runtime (the CRI calls it makes and what it believes
// they answered).

// KubeletNeverRestarting wraps the kubelet's runtime so that no container is
// ever created a second time: a container that exits stays dead whatever
// the restart policy says.
func KubeletNeverRestarting(rt cri.RuntimeService) cri.RuntimeService {
	return neverRestarting{rt}
}

type neverRestarting struct{ cri.RuntimeService }

func (n neverRestarting) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	if cfg.GetMetadata().GetAttempt() > 0 {
		return "", fmt.Errorf("knownbad: this kubelet never restarts containers")
	}
	return n.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}

// KubeletWithoutBackoff configures the kubelet to restart crashed
// containers at once, every time: no crash-loop back-off.
func KubeletWithoutBackoff(c *kubelet.Config) {
	c.BackoffBase, c.BackoffCap = time.Nanosecond, time.Nanosecond
}

// KubeletReportingRunningEarly wraps the kubelet's runtime so that a
// container counts as running as soon as it is asked to start, while it
// really starts delay later (as a kubelet that sets Running when it issues
// the start, not when the start is done).
func KubeletReportingRunningEarly(delay time.Duration) func(cri.RuntimeService) cri.RuntimeService {
	return func(rt cri.RuntimeService) cri.RuntimeService {
		return &runningEarly{RuntimeService: rt, delay: delay, pending: map[string]int64{}}
	}
}

type runningEarly struct {
	cri.RuntimeService
	delay   time.Duration
	mu      sync.Mutex
	pending map[string]int64 // container ID -> when it was "started"
}

func (r *runningEarly) StartContainer(ctx context.Context, id string) error {
	r.mu.Lock()
	r.pending[id] = time.Now().UnixNano()
	r.mu.Unlock()
	go func() {
		time.Sleep(r.delay)
		_ = r.RuntimeService.StartContainer(context.Background(), id)
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
	}()
	return nil
}

func (r *runningEarly) ContainerStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	resp, err := r.RuntimeService.ContainerStatus(ctx, id, verbose)
	if err != nil || resp.GetStatus() == nil {
		return resp, err
	}
	r.mu.Lock()
	at, ok := r.pending[id]
	r.mu.Unlock()
	if ok && resp.Status.State == runtimeapi.ContainerState_CONTAINER_CREATED {
		resp.Status.State, resp.Status.StartedAt = runtimeapi.ContainerState_CONTAINER_RUNNING, at
	}
	return resp, nil
}

func (r *runningEarly) ListContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	list, err := r.RuntimeService.ListContainers(ctx, f)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range list {
		if _, ok := r.pending[c.Id]; ok && c.State == runtimeapi.ContainerState_CONTAINER_CREATED {
			c.State = runtimeapi.ContainerState_CONTAINER_RUNNING
		}
	}
	return list, err
}

// KubeletIgnoringGracePeriod wraps the kubelet's runtime so that every stop
// kills at once: the grace period the kubelet asks for is dropped.
func KubeletIgnoringGracePeriod(rt cri.RuntimeService) cri.RuntimeService {
	return ignoringGrace{rt}
}

type ignoringGrace struct{ cri.RuntimeService }

func (i ignoringGrace) StopContainer(ctx context.Context, id string, _ int64) error {
	return i.RuntimeService.StopContainer(ctx, id, 0)
}

// KubeletWithoutVolumes wraps a kubelet's runtime so that containers are created without
// their volume mounts and without environment: as a kubelet that hands a container neither
// its volumes nor its Secrets and ConfigMaps.
func KubeletWithoutVolumes(rt cri.RuntimeService) cri.RuntimeService { return withoutVolumes{rt} }

type withoutVolumes struct{ cri.RuntimeService }

func (w withoutVolumes) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	cfg.Mounts, cfg.Envs = nil, nil
	return w.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}
