package knownbad

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/reference/kubelet"
)

// KubeletStoppingSidecarsAtOnce wraps the kubelet's runtime so that stopping an app
// container also stops every sidecar of its pod at the same time: a kubelet that kills all
// of a pod's containers at once instead of stopping the sidecars after the app containers,
// in reverse order.
func KubeletStoppingSidecarsAtOnce(rt cri.RuntimeService) cri.RuntimeService {
	return sidecarsAtOnce{rt}
}

type sidecarsAtOnce struct{ cri.RuntimeService }

func (s sidecarsAtOnce) StopContainer(ctx context.Context, id string, timeout int64) error {
	st, err := s.ContainerStatus(ctx, id, false)
	if err != nil || st.GetStatus() == nil || st.GetStatus().GetLabels()[kubelet.LabelContainerType] != "" {
		return s.RuntimeService.StopContainer(ctx, id, timeout)
	}
	uid := st.GetStatus().GetLabels()[kubelet.LabelPodUID]
	list, err := s.ListContainers(ctx, &runtimeapi.ContainerFilter{
		State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		LabelSelector: map[string]string{kubelet.LabelPodUID: uid, kubelet.LabelContainerType: "sidecar"},
	})
	var wg sync.WaitGroup
	if err == nil && uid != "" {
		for _, c := range list {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = s.RuntimeService.StopContainer(ctx, c.Id, timeout)
			}()
		}
	}
	err = s.RuntimeService.StopContainer(ctx, id, timeout)
	wg.Wait()
	return err
}

// KubeletWaitingForPreStop wraps the kubelet's runtime so that a container is stopped only
// once the exec commands running in it (its preStop hook) have returned, and those ignore
// the kubelet giving up on them: a kubelet that starts counting the grace period after the
// preStop hook, however long the hook takes.
func KubeletWaitingForPreStop(rt cri.RuntimeService) cri.RuntimeService {
	return &preStopAwaited{RuntimeService: rt, running: map[string]int{}}
}

type preStopAwaited struct {
	cri.RuntimeService
	mu      sync.Mutex
	running map[string]int // exec commands in flight by container ID
}

// preStopAwaitLimit bounds how long an exec outlives the kubelet's interest in it.
const preStopAwaitLimit = 2 * time.Minute

func (p *preStopAwaited) execs(id string, delta int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[id] += delta
	n := p.running[id]
	if n == 0 {
		delete(p.running, id)
	}
	return n
}

func (p *preStopAwaited) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) ([]byte, []byte, error) {
	p.execs(id, 1)
	defer p.execs(id, -1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), preStopAwaitLimit)
	defer cancel()
	return p.RuntimeService.ExecSync(ctx, id, cmd, timeout)
}

func (p *preStopAwaited) StopContainer(ctx context.Context, id string, timeout int64) error {
	for p.execs(id, 0) > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return p.RuntimeService.StopContainer(ctx, id, timeout)
}

// KubeletWithoutAttach wraps the kubelet's runtime so that attaching to a container fails
// as a runtime without the CRI Attach call answers: kubectl attach never works.
func KubeletWithoutAttach(rt cri.RuntimeService) cri.RuntimeService { return withoutAttach{rt} }

type withoutAttach struct{ cri.RuntimeService }

func (withoutAttach) Attach(context.Context, *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method Attach not implemented")
}

// KubeletWithoutPortForward wraps the kubelet's runtime so that port-forwarding fails as a
// runtime without the CRI PortForward call answers: kubectl port-forward never works.
func KubeletWithoutPortForward(rt cri.RuntimeService) cri.RuntimeService {
	return withoutPortForward{rt}
}

type withoutPortForward struct{ cri.RuntimeService }

func (withoutPortForward) PortForward(context.Context, *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method PortForward not implemented")
}
