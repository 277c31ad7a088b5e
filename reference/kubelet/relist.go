package kubelet

import (
	"context"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// relistLoop is the kubelet's pod lifecycle event generator (the upstream kubelet's PLEG):
// it lists the node's sandboxes and containers and wakes the worker of each pod whose
// sandboxes or containers appeared, went or changed state. A settled pod's worker therefore
// does not list the runtime itself every second (it re-syncs every ResyncInterval).
//
// When the runtime streams container events (CRI GetContainerEvents: the simulated runtime,
// containerd 1.7+), each event wakes its pod's worker at once and the relist runs only every
// EventedRelistInterval, as the upstream kubelet's evented PLEG does; a node's idle cost is
// then its open stream. Otherwise (containerd 1.6 answers Unimplemented), or while the
// stream is broken, the relist runs every SyncInterval.
func (k *Kubelet) relistLoop(ctx context.Context) {
	events := make(chan *runtimeapi.ContainerEventResponse, 1024)
	streaming := make(chan bool, 1)
	go k.subscribeEvents(ctx, events, streaming)
	period := k.cfg.SyncInterval
	t := k.cfg.Clock.NewTimer(period)
	defer t.Stop()
	// The first relist wakes every pod it sees: what changed before it is not missed.
	last := map[string]string{}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			k.pokePod(types.UID(eventPodUID(ev)))
			continue
		case on := <-streaming:
			// Relist at once: what changed before the stream opened, or while it was
			// broken, is not missed.
			period = k.cfg.SyncInterval
			if on {
				period = k.cfg.EventedRelistInterval
			}
		case <-t.C():
		}
		t.Stop()
		at := k.cfg.Clock.Now()
		cur, err := k.relist(ctx)
		t.Reset(period)
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
		k.mu.Lock()
		k.lastRelist, k.lastRelistAt = cur, at
		k.mu.Unlock()
	}
}

// eventPodUID is the UID of the pod a container event is about.
func eventPodUID(ev *runtimeapi.ContainerEventResponse) string {
	sb := ev.GetPodSandboxStatus()
	if uid := sb.GetMetadata().GetUid(); uid != "" {
		return uid
	}
	return sb.GetLabels()[LabelPodUID]
}

// subscribeEvents keeps a container event stream open, sending true on streaming when one
// opens and false when it breaks. A runtime that does not implement GetContainerEvents is
// not asked again; a broken stream is reopened after EventedRelistRetry.
func (k *Kubelet) subscribeEvents(ctx context.Context, events chan *runtimeapi.ContainerEventResponse, streaming chan bool) {
	say := func(on bool) {
		select {
		case streaming <- on:
		case <-ctx.Done():
		}
	}
	for ctx.Err() == nil {
		opened := false
		err := k.runtime.GetContainerEvents(ctx, events, func(runtimeapi.RuntimeService_GetContainerEventsClient) {
			opened = true
			say(true)
		})
		if opened {
			say(false)
		}
		if ctx.Err() != nil || status.Code(err) == codes.Unimplemented {
			return
		}
		select {
		case <-ctx.Done():
		case <-k.cfg.Clock.After(EventedRelistRetry):
		}
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
	return fingerprints(sandboxes, ctrs), nil
}

// fingerprints are, per pod UID, the IDs and states of the pod's sandboxes and containers
// among sandboxes and ctrs.
func fingerprints(sandboxes []*runtimeapi.PodSandbox, ctrs []*runtimeapi.Container) map[string]string {
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
	return out
}

// relisted is the pod UID's fingerprint as the latest relist saw it ("" when it did not), and
// when that relist started.
func (k *Kubelet) relisted(uid types.UID) (string, time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastRelist[string(uid)], k.lastRelistAt
}

// runtimeView is what a sync that left its pod settled read of the runtime: the pod's sandboxes,
// containers and their statuses, their fingerprint, and when the sync started reading them.
type runtimeView struct {
	at          time.Time
	sandboxes   []*runtimeapi.PodSandbox
	ctrs        []*runtimeapi.Container
	view        map[string]*history
	fingerprint string
}

// settledView returns the runtime view the settled pod's periodic re-sync uses instead of
// listing the runtime: prev, the one the last sync read when it left the pod settled, if the
// worker was woken by its timer (a container event, a relist that saw a change, or a change
// of the pod wakes it instead) and the relist's latest view agrees: it saw the same sandboxes
// and containers in the same states, or it is older than prev (the evented relist runs every
// 5 min; the events would have woken the worker). Else nil: the sync lists the runtime.
func (w *podWorker) settledView(uid types.UID, prev *runtimeView) *runtimeView {
	if prev == nil || !w.timerWake {
		return nil
	}
	if fp, at := w.k.relisted(uid); fp != prev.fingerprint && !at.Before(prev.at) {
		return nil
	}
	return prev
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
