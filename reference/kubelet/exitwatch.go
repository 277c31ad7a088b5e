package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// exitPollInterval is how often the state of a running regular init container is read while
// its pod waits for it to exit.
const exitPollInterval = 100 * time.Millisecond

// A pod with init containers waits for each to exit before the next one, then its app
// containers, start. The worker's sync round (Config.SyncInterval, 1 s) would notice the
// exit up to a round late, once per init container; the upstream kubelet's PLEG wakes the
// pod worker on the container's exit instead. The CRI runtimes here send no container events
// (containerd 1.6 does not implement GetContainerEvents), so the worker watches the one init
// container it waits for: it reads that container's state every exitPollInterval and wakes
// the worker as soon as it has exited. Only regular init containers are watched: they are
// expected to exit soon, and nothing is read for pods that merely run.

// watchInitExit starts, when the pod waits for a running regular init container of its
// current sandbox, a goroutine that wakes the worker once that container has exited. At most
// one watch runs per container.
func (w *podWorker) watchInitExit(ctx context.Context, pod *corev1.Pod, view map[string]*history) {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		h := view[c.Name]
		if isSidecar(c) || h == nil || h.latest.State != runtimeapi.ContainerState_CONTAINER_RUNNING || !w.current(h) {
			continue
		}
		id := h.latest.Id
		if w.exitWatched == id {
			return
		}
		w.exitWatched = id
		go w.awaitExit(ctx, id)
		return
	}
}

// awaitExit wakes the worker once container id is no longer running (or cannot be read).
func (w *podWorker) awaitExit(ctx context.Context, id string) {
	t := w.k.cfg.Clock.NewTicker(exitPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		w.mu.Lock()
		gone := w.removed
		w.mu.Unlock()
		if gone {
			return
		}
		s, err := w.k.runtime.ContainerStatus(ctx, id, false)
		if err != nil || s.GetStatus().GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
			w.poke()
			return
		}
	}
}
