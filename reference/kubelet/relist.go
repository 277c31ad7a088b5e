package kubelet

import (
	"context"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// relistLoop is the kubelet's pod lifecycle event generator (the upstream kubelet's PLEG):
// every SyncInterval it lists the node's sandboxes and containers once and wakes the worker
// of each pod whose sandboxes or containers appeared, went or changed state. A settled pod's
// worker therefore does not list the runtime itself every second (it re-syncs every
// ResyncInterval), and the node's idle cost is one relist per second, not one per pod.
func (k *Kubelet) relistLoop(ctx context.Context) {
	t := k.cfg.Clock.NewTicker(k.cfg.SyncInterval)
	defer t.Stop()
	// The first relist wakes every pod it sees: what changed before it is not missed.
	last := map[string]string{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		cur, err := k.relist(ctx)
		if err != nil {
			if ctx.Err() == nil {
				k.logf("relisting the runtime: %v", err)
			}
			continue
		}
		for uid, fp := range cur {
			if last[uid] != fp {
				k.pokePod(types.UID(uid))
			}
		}
		for uid := range last {
			if _, ok := cur[uid]; !ok {
				k.pokePod(types.UID(uid))
			}
		}
		last = cur
	}
}

// relist returns, per pod UID, a fingerprint of the pod's sandboxes and containers on this
// node: their IDs and states.
func (k *Kubelet) relist(ctx context.Context) (map[string]string, error) {
	sel := map[string]string{LabelNode: k.cfg.NodeName}
	sandboxes, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	ctrs, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	parts := map[string][]string{}
	for _, s := range sandboxes {
		uid := s.GetLabels()[LabelPodUID]
		parts[uid] = append(parts[uid], "s"+s.Id+"="+s.State.String())
	}
	for _, c := range ctrs {
		uid := c.GetLabels()[LabelPodUID]
		parts[uid] = append(parts[uid], "c"+c.Id+"="+c.State.String())
	}
	out := make(map[string]string, len(parts))
	for uid, p := range parts {
		if uid == "" {
			continue
		}
		sort.Strings(p)
		out[uid] = strings.Join(p, ",")
	}
	return out, nil
}

// pokePod wakes the worker of the pod UID, if it has one.
func (k *Kubelet) pokePod(uid types.UID) {
	k.mu.Lock()
	w := k.workers[uid]
	k.mu.Unlock()
	if w != nil {
		w.poke()
	}
}

// settled reports whether the pod, as the sync that computed st left it, needs nothing of
// its worker until something changes (which the relist or the pod's informer reports): every
// container running, nothing waiting, probed, timed, resized or measured. Its worker then
// re-syncs only every ResyncInterval.
func (w *podWorker) settled(pod *corev1.Pod, st *corev1.PodStatus) bool {
	if w.lastPosted == nil || !apiequality.Semantic.DeepEqual(*w.lastPosted, *st) {
		return false // not written yet (a failed write is retried in SyncInterval)
	}
	if w.static || st.Phase != corev1.PodRunning || len(w.waiting) > 0 || w.exitWatched != "" ||
		w.resize.pending != nil || w.resize.inProgress != nil || w.volumeDirs == nil ||
		pod.Spec.ActiveDeadlineSeconds != nil || len(pod.Spec.EphemeralContainers) > 0 ||
		len(st.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
			return false // measured every emptyDirCheckInterval (evict.go)
		}
	}
	probed := func(c *corev1.Container) bool {
		return c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil
	}
	for i := range pod.Spec.InitContainers {
		if probed(&pod.Spec.InitContainers[i]) {
			return false
		}
	}
	for i := range pod.Spec.Containers {
		if probed(&pod.Spec.Containers[i]) {
			return false
		}
	}
	for _, s := range st.ContainerStatuses {
		if s.State.Running == nil || !s.Ready {
			return false
		}
	}
	for _, s := range st.InitContainerStatuses {
		if s.State.Terminated == nil && s.State.Running == nil {
			return false
		}
	}
	return true
}
