package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

// podWorker syncs one pod with the runtime and reports its status.
type podWorker struct {
	k      *Kubelet
	static bool
	// seq orders the worker among the kubelet's (the start gate lets the oldest pod go first).
	seq uint64

	// sandboxID is the pod's current ready sandbox, once there is one: containers of
	// older sandboxes do not count as started (a new sandbox runs the init containers again).
	sandboxID string

	mu      sync.Mutex
	pod     *corev1.Pod
	removed bool
	repost  bool
	// metaChanged is set when the pod's labels or annotations changed: the next sync brings
	// its volumes (the downward API's files) up to date at once.
	metaChanged bool
	wake        chan struct{}

	// Only the worker's goroutine touches the fields below.
	lastPosted *corev1.PodStatus
	startTime  *metav1.Time
	terminal   bool
	// sandboxIPs caches each sandbox's IP.
	sandboxIPs map[string]string
	// waiting is why a container could not be created or started.
	waiting map[string]*corev1.ContainerStateWaiting
	// pullRetry is when an image pull may be retried, per container.
	pullRetry map[string]time.Time
	pullDelay map[string]time.Duration
	// probes are the probe states by container ID.
	probes map[string]*containerProbes
	// volumeDirs are the directories of the pod's volumes on the node by volume name, nil
	// until they are all set up; volumesSynced is when they were last synced.
	volumeDirs    map[string]string
	volumesSynced time.Time
	// written records what was last written into each atomically written volume's
	// directory, by directory: a re-sync whose payload is unchanged reads and writes nothing.
	written map[string]*writtenVolume
	// tokens are the projected ServiceAccount tokens by audience/expirationSeconds.
	tokens map[string]*authenticationv1.TokenRequest
	// podCerts are the projected pod certificates by volume/source index (podcertificate.go).
	podCerts map[string]*podCert
	// mountFailure is the last volume set-up failure reported in an event.
	mountFailure string
	// life holds the termination messages read (lifecycle.go).
	life lifecycleState
	// emptyDirChecked is when the emptyDir volumes' usage was last measured (evict.go).
	emptyDirChecked time.Time
	// resize is the pod's resource allocation (resize.go).
	resize resizeState
	// exitWatched is the init container whose exit is watched (exitwatch.go).
	exitWatched string
	// quiet is set by a sync that left the pod settled (relist.go): the worker then waits for
	// a wake-up (a change of the pod or of its containers) or ResyncInterval.
	quiet bool
	// lastView is the runtime view of the sync that left the pod settled, nil otherwise;
	// timerWake is set when the worker's timer, not a wake-up, started this sync (relist.go).
	lastView  *runtimeView
	timerWake bool
}

func newPodWorker(k *Kubelet, pod *corev1.Pod, static bool) *podWorker {
	w := &podWorker{
		k: k, static: static, pod: pod, wake: make(chan struct{}, 1),
		sandboxIPs: map[string]string{},
		waiting:    map[string]*corev1.ContainerStateWaiting{},
		pullRetry:  map[string]time.Time{},
		pullDelay:  map[string]time.Duration{},
		probes:     map[string]*containerProbes{},
		tokens:     map[string]*authenticationv1.TokenRequest{},
	}
	if pod.Status.StartTime != nil {
		w.startTime = pod.Status.StartTime.DeepCopy()
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		w.terminal = true
		w.lastPosted = pod.Status.DeepCopy()
	}
	return w
}

func (w *podWorker) currentPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	if old := w.pod; !apiequality.Semantic.DeepEqual(old.Labels, pod.Labels) || !apiequality.Semantic.DeepEqual(old.Annotations, pod.Annotations) {
		w.metaChanged = true
	}
	w.pod = pod
	w.mu.Unlock()
	w.poke()
}

func (w *podWorker) remove() {
	w.mu.Lock()
	w.removed = true
	w.mu.Unlock()
	w.poke()
}

func (w *podWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *podWorker) run(ctx context.Context) {
	for {
		w.quiet = false
		if w.sync(ctx) {
			return
		}
		wait := w.k.cfg.SyncInterval
		if w.quiet || w.terminal {
			// Nothing to do until the pod or its containers change (the informer and the
			// relist wake the worker), short of the periodic resync.
			wait = w.k.cfg.ResyncInterval
		}
		t := w.k.cfg.Clock.NewTimer(wait)
		w.timerWake = false
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
		case <-t.C():
			w.timerWake = true
		}
		t.Stop()
	}
}

func (w *podWorker) key(container string) string {
	return string(w.currentPod().UID) + "/" + container
}

// sync does one round of work; it returns true when the pod is gone and the
// worker can stop.
func (w *podWorker) sync(ctx context.Context) bool {
	prev := w.lastView
	w.lastView = nil
	w.mu.Lock()
	pod, removed := w.pod, w.removed
	if w.repost {
		w.repost, w.lastPosted = false, nil
	}
	if w.metaChanged {
		w.metaChanged, w.volumesSynced = false, time.Time{}
	}
	w.mu.Unlock()
	if ctx.Err() != nil {
		return true
	}
	if removed || pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod, removed)
	}
	if w.terminal {
		return false
	}
	if w.deadlineExceeded(pod) {
		w.failDeadline(ctx, pod)
		return false
	}
	if msg := w.emptyDirOverLimit(pod); msg != "" {
		w.evict(ctx, pod, msg)
		return false
	}
	k := w.k
	sel := map[string]string{LabelPodUID: string(pod.UID)}
	var (
		sandboxes []*runtimeapi.PodSandbox
		ctrs      []*runtimeapi.Container
		view      map[string]*history
		err       error
	)
	listed := k.cfg.Clock.Now()
	if rv := w.settledView(pod.UID, prev); rv != nil {
		sandboxes, ctrs, view, listed = rv.sandboxes, rv.ctrs, rv.view, rv.at
	} else {
		if sandboxes, err = k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel}); err != nil {
			k.logf("pod %s/%s: listing sandboxes: %v", pod.Namespace, pod.Name, err)
			return false
		}
		if ctrs, err = k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel}); err != nil {
			k.logf("pod %s/%s: listing containers: %v", pod.Namespace, pod.Name, err)
			return false
		}
		view = w.observe(ctx, ctrs)
	}
	sb := readySandbox(sandboxes)
	if sb != nil {
		w.sandboxID = sb.Id
	}
	if len(sandboxes) == 0 && len(ctrs) == 0 {
		// Admission: nothing of the pod runs yet.
		if reason, msg := k.admitSecurity(pod); reason != "" {
			w.reject(ctx, pod, view, reason, msg)
			return false
		}
	}
	if !w.wouldBeTerminal(pod, view) {
		if err := w.syncVolumes(ctx, pod); err != nil {
			w.mountFailed(ctx, pod, err)
			for _, c := range pod.Spec.Containers {
				w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: err.Error()}
			}
			w.postStatus(ctx, pod, w.buildStatus(pod, sb, view))
			return false
		}
	}
	if sb == nil && !w.wouldBeTerminal(pod, view) {
		sb, err = w.createSandbox(ctx, pod, sandboxes)
		if err != nil {
			for _, c := range pod.Spec.Containers {
				w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: err.Error()}
			}
			w.postStatus(ctx, pod, w.buildStatus(pod, nil, view))
			return false
		}
	}
	changed := false
	if sb != nil {
		podIP := w.sandboxIP(ctx, sb.Id)
		view, changed = w.syncResize(ctx, pod, sb, podIP, view)
		initialized, initChanged := w.syncInitContainers(ctx, pod, sb, podIP, view)
		changed = changed || initChanged
		for i := range pod.Spec.Containers {
			if !initialized {
				break
			}
			c := &pod.Spec.Containers[i]
			if w.syncContainer(ctx, pod, c, sb, podIP, view[c.Name]) {
				changed = true
			}
		}
		if w.syncEphemeral(ctx, pod, sb, podIP, view) {
			changed = true
		}
	}
	if changed {
		if ctrs, err = k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel}); err != nil {
			return false
		}
		view = w.observe(ctx, ctrs)
	}
	st := w.buildStatus(pod, sb, view)
	if (st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed) && hasSidecars(pod) {
		// The app containers are done for good: the sidecars stop now, last.
		w.killPod(ctx, pod, w.gracePeriod(pod))
		if ctrs, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel}); err == nil {
			st = w.buildStatus(pod, sb, w.observe(ctx, ctrs))
		}
	}
	w.postStatus(ctx, pod, st)
	if sb != nil && len(pod.Spec.InitContainers) > 0 && !w.appStarted(pod, view) {
		w.watchInitExit(ctx, pod, view)
	}
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		w.terminal = true
		for _, s := range sandboxes {
			_ = ignoreNotFound(k.runtime.StopPodSandbox(ctx, s.Id))
		}
	}
	w.quiet = !changed && w.settled(pod, &st)
	if w.quiet {
		w.lastView = &runtimeView{at: listed, sandboxes: sandboxes, ctrs: ctrs, view: view, fingerprint: fingerprints(sandboxes, ctrs)[string(pod.UID)]}
	}
	return false
}

// reject fails a pod the node does not admit: phase Failed with the
// reason and message, and nothing of it started.
func (w *podWorker) reject(ctx context.Context, pod *corev1.Pod, view map[string]*history, reason, msg string) {
	w.k.logf("pod %s/%s: rejected: %s: %s", pod.Namespace, pod.Name, reason, msg)
	st := w.buildStatus(pod, nil, view)
	st.Phase, st.Reason, st.Message = corev1.PodFailed, reason, "Pod was rejected: "+msg
	for i := range st.Conditions {
		if st.Conditions[i].Type == corev1.PodReady || st.Conditions[i].Type == corev1.ContainersReady {
			st.Conditions[i].Status = corev1.ConditionFalse
		}
	}
	w.warn(ctx, pod, "", reason, msg)
	w.postStatus(ctx, pod, st)
	w.terminal = true
}

// history is what the runtime holds of one container of the pod: the newest
// attempt and the one before.
type history struct {
	latest, previous *runtimeapi.ContainerStatus
	attempt          uint32
	sandboxID        string
}

// observe groups the pod's runtime containers by name.
func (w *podWorker) observe(ctx context.Context, ctrs []*runtimeapi.Container) map[string]*history {
	byName := map[string][]*runtimeapi.Container{}
	for _, c := range ctrs {
		name := c.GetLabels()[LabelContainerName]
		if name == "" {
			name = c.GetMetadata().GetName()
		}
		byName[name] = append(byName[name], c)
	}
	out := map[string]*history{}
	for name, list := range byName {
		sort.Slice(list, func(i, j int) bool { return attemptOf(list[i]) > attemptOf(list[j]) })
		h := &history{attempt: attemptOf(list[0]), sandboxID: list[0].PodSandboxId}
		if s, err := w.k.runtime.ContainerStatus(ctx, list[0].Id, false); err == nil && s.Status != nil {
			h.latest = s.Status
		}
		if len(list) > 1 {
			if s, err := w.k.runtime.ContainerStatus(ctx, list[1].Id, false); err == nil && s.Status != nil {
				h.previous = s.Status
			}
		}
		if h.latest != nil {
			out[name] = h
		}
	}
	return out
}

func attemptOf(c *runtimeapi.Container) uint32 {
	if v, ok := c.GetAnnotations()[AnnotRestartCount]; ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			return uint32(n)
		}
	}
	return c.GetMetadata().GetAttempt()
}

func readySandbox(sbs []*runtimeapi.PodSandbox) *runtimeapi.PodSandbox {
	var best *runtimeapi.PodSandbox
	for _, s := range sbs {
		if s.State == runtimeapi.PodSandboxState_SANDBOX_READY && (best == nil || s.CreatedAt > best.CreatedAt) {
			best = s
		}
	}
	return best
}

// restarts reports whether a container that exited with code is restarted.
func restarts(pod *corev1.Pod, code int32) bool {
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return code != 0
	}
	return true
}

// wouldBeTerminal reports whether every container has ended for good.
func (w *podWorker) wouldBeTerminal(pod *corev1.Pod, view map[string]*history) bool {
	if len(pod.Spec.Containers) == 0 {
		return false
	}
	if len(pod.Spec.InitContainers) > 0 && w.initProgress(pod, view).failed {
		return true
	}
	for _, c := range pod.Spec.Containers {
		h := view[c.Name]
		if h == nil || h.latest.State != runtimeapi.ContainerState_CONTAINER_EXITED || restarts(pod, h.latest.ExitCode) {
			return false
		}
	}
	return true
}

func (w *podWorker) createSandbox(ctx context.Context, pod *corev1.Pod, old []*runtimeapi.PodSandbox) (*runtimeapi.PodSandbox, error) {
	k := w.k
	for _, s := range old {
		_ = ignoreNotFound(k.runtime.StopPodSandbox(ctx, s.Id))
	}
	cfg := k.sandboxConfig(pod, uint32(len(old)))
	if err := k.starts.acquire(ctx, w.seq); err != nil {
		return nil, err
	}
	id, err := k.runtime.RunPodSandbox(ctx, cfg, k.cfg.RuntimeHandler)
	k.starts.release()
	if err != nil {
		k.logf("pod %s/%s: creating sandbox: %v", pod.Namespace, pod.Name, err)
		return nil, fmt.Errorf("failed to create pod sandbox: %w", err)
	}
	for _, s := range old {
		_ = ignoreNotFound(k.runtime.RemovePodSandbox(ctx, s.Id))
	}
	return &runtimeapi.PodSandbox{Id: id, Metadata: cfg.Metadata, State: runtimeapi.PodSandboxState_SANDBOX_READY, Labels: cfg.Labels}, nil
}

func (w *podWorker) sandboxIP(ctx context.Context, id string) string {
	if ip, ok := w.sandboxIPs[id]; ok {
		return ip
	}
	if w.currentPod().Spec.HostNetwork {
		w.sandboxIPs[id] = w.k.cfg.NodeIP
		return w.k.cfg.NodeIP
	}
	s, err := w.k.runtime.PodSandboxStatus(ctx, id, false)
	if err != nil || s.Status == nil {
		return ""
	}
	ip := s.Status.GetNetwork().GetIp()
	if ip != "" {
		w.sandboxIPs[id] = ip
	}
	return ip
}

// syncContainer drives one container toward its desired state; it returns
// true when it changed something in the runtime.
func (w *podWorker) syncContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sb *runtimeapi.PodSandbox, podIP string, h *history) bool {
	k := w.k
	if h == nil {
		return w.startContainer(ctx, pod, c, sb, podIP, 0, nil)
	}
	switch h.latest.State {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		if h.sandboxID != sb.Id {
			// A container of a replaced sandbox: stop it; the next sync restarts it.
			_ = ignoreNotFound(k.runtime.StopContainer(ctx, h.latest.Id, 0))
			return true
		}
		return w.runProbes(ctx, pod, c, h.latest, podIP)
	case runtimeapi.ContainerState_CONTAINER_CREATED:
		if err := k.runtime.StartContainer(ctx, h.latest.Id); err != nil {
			w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
			_ = ignoreNotFound(k.runtime.RemoveContainer(ctx, h.latest.Id))
		}
		return true
	default: // exited or unknown
		delete(w.probes, h.latest.Id)
		if !restartsContainer(pod, c, h.latest.ExitCode) {
			return false
		}
		key := w.key(c.Name)
		remaining, delay := k.backoff.wait(key, h.latest.Id, k.cfg.Clock.Now())
		if remaining > 0 {
			w.waiting[c.Name] = &corev1.ContainerStateWaiting{
				Reason:  "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.Name, pod.Name, pod.Namespace, pod.UID),
			}
			k.eventf(pod, c.Name, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c.Name, pod.Name, pod.Namespace, pod.UID)
			return false
		}
		var older *runtimeapi.ContainerStatus
		if h.previous != nil {
			older = h.previous
		}
		return w.startContainer(ctx, pod, c, sb, podIP, h.attempt+1, older)
	}
}

// startContainer pulls the image if needed, creates and starts attempt of
// c. prune is an older exited container to remove afterwards (only the
// latest exited attempt is kept, for lastState and --previous logs).
func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sb *runtimeapi.PodSandbox, podIP string, attempt uint32, prune *runtimeapi.ContainerStatus) bool {
	k := w.k
	c = w.withAllocation(pod, c) // a deferred resize is not the container's yet (resize.go)
	if err := w.ensureImage(ctx, pod, c); err != nil {
		return false
	}
	sbCfg := k.sandboxConfig(pod, sb.GetMetadata().GetAttempt())
	cfg, err := k.containerConfig(ctx, pod, c, attempt, podIP, w.volumeDirs)
	if err == nil {
		err = k.applyContainerSecurity(ctx, pod, c, cfg)
	}
	if err == nil {
		err = w.lifecycleConfig(pod, c, attempt, cfg)
	}
	if err != nil {
		w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: ErrCreateContainerConfig, Message: err.Error()}
		k.logf("pod %s/%s: container %s: %v", pod.Namespace, pod.Name, c.Name, err)
		w.warn(ctx, pod, c.Name, "Failed", "Error: "+err.Error())
		return false
	}
	if err := k.starts.acquire(ctx, w.seq); err != nil {
		return false
	}
	id, err := k.runtime.CreateContainer(ctx, sb.Id, cfg, sbCfg)
	if err != nil {
		k.starts.release()
		w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: err.Error()}
		k.logf("pod %s/%s: creating container %s: %v", pod.Namespace, pod.Name, c.Name, err)
		k.eventf(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return false
	}
	w.started(id, c)
	k.eventf(pod, c.Name, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if attempt > 0 {
		k.backoff.restarted(w.key(c.Name), k.cfg.Clock.Now())
	}
	err = k.runtime.StartContainer(ctx, id)
	k.starts.release()
	if err != nil {
		w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
		k.logf("pod %s/%s: starting container %s: %v", pod.Namespace, pod.Name, c.Name, err)
		k.eventf(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return true
	}
	k.eventf(pod, c.Name, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	delete(w.waiting, c.Name)
	if prune != nil {
		_ = ignoreNotFound(k.runtime.RemoveContainer(ctx, prune.Id))
	}
	w.postStart(ctx, pod, c, id, podIP)
	return true
}

// ensureImage makes the container's image present per imagePullPolicy,
// asking ImageStatus first.
func (w *podWorker) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) error {
	k := w.k
	spec := &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
	}
	if policy != corev1.PullAlways {
		st, err := k.images.ImageStatus(ctx, spec, false)
		if err == nil && st.GetImage() != nil {
			k.eventf(pod, c.Name, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
			return nil
		}
		if policy == corev1.PullNever {
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
			w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: msg}
			k.eventf(pod, c.Name, corev1.EventTypeWarning, "ErrImageNeverPull", "%s", msg)
			return errors.New(msg)
		}
	}
	now := k.cfg.Clock.Now()
	if t, ok := w.pullRetry[c.Name]; ok && now.Before(t) {
		w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: fmt.Sprintf("Back-off pulling image %q", c.Image)}
		k.eventf(pod, c.Name, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.Image)
		return errors.New("image pull back-off")
	}
	w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	k.eventf(pod, c.Name, corev1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	if _, err := k.images.PullImage(ctx, spec, nil, k.sandboxConfig(pod, 0)); err != nil {
		k.eventf(pod, c.Name, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.Image, err)
		k.eventf(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %s", "ErrImagePull")
		d := w.pullDelay[c.Name]
		if d == 0 {
			d = k.cfg.BackoffBase
		} else {
			d = min(2*d, k.cfg.BackoffCap)
		}
		w.pullDelay[c.Name], w.pullRetry[c.Name] = d, now.Add(d)
		w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: err.Error()}
		return err
	}
	delete(w.pullDelay, c.Name)
	delete(w.pullRetry, c.Name)
	took := k.cfg.Clock.Since(now)
	k.eventf(pod, c.Name, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %v (%v including waiting)", c.Image, took, took)
	return nil
}

// terminate kills the pod's containers within the grace period, removes it
// from the runtime and, for a pod being deleted, deletes the API object. It
// returns true once done.
func (w *podWorker) terminate(ctx context.Context, pod *corev1.Pod, removed bool) bool {
	k := w.k
	grace := w.gracePeriod(pod)
	start := k.cfg.Clock.Now()
	w.killPod(ctx, pod, grace)
	k.killPodResources(ctx, string(pod.UID), grace)
	k.logf("pod %s/%s: stopped with grace period %ds in %s", pod.Namespace, pod.Name, grace, k.cfg.Clock.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		return true
	}
	if !removed && !w.static {
		err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			k.logf("pod %s/%s: deleting: %v", pod.Namespace, pod.Name, err)
			return false
		}
	}
	var keys []string
	for _, c := range pod.Spec.Containers {
		keys = append(keys, w.key(c.Name))
	}
	for _, c := range pod.Spec.InitContainers {
		keys = append(keys, w.key(c.Name))
	}
	k.backoff.forget(keys)
	return true
}

// postStatus writes st to the API when it differs from what was last
// written.
func (w *podWorker) postStatus(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) {
	if w.lastPosted != nil && apiequality.Semantic.DeepEqual(*w.lastPosted, st) {
		return
	}
	pods := w.k.client.CoreV1().Pods(pod.Namespace)
	target := pod
	if w.static {
		m, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return
		}
		target = m
	}
	for attempt := 0; attempt < 3; attempt++ {
		p := target.DeepCopy()
		p.Status = st
		_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err == nil {
			w.lastPosted = st.DeepCopy()
			return
		}
		if apierrors.IsNotFound(err) || ctx.Err() != nil {
			return
		}
		if !apierrors.IsConflict(err) {
			w.k.logf("pod %s/%s: updating status: %v", pod.Namespace, pod.Name, err)
			return
		}
		fresh, gerr := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil || fresh.UID != target.UID && !w.static {
			return
		}
		target = fresh
	}
}

// forgetPosted makes the next sync post the status again.
func (w *podWorker) forgetPosted() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.repost = true
}
