package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"
)

// Limits of termination messages, as Kubernetes sets them (pkg/kubelet/container): the last
// 4 KiB of a container's message file; from its log (FallbackToLogsOnError) at most 2 KiB of
// its last 80 lines; and across a pod 12 KiB, split evenly among its containers.
const (
	maxTerminationMessage         = 4 * 1024
	maxTerminationMessageLogLines = 80
	maxTerminationMessageLogBytes = 2 * 1024
	maxPodTerminationMessages     = 12 * 1024
)

// Annotations on CRI containers (the names Kubernetes' kubelet uses) that let the kubelet
// find a container's termination message after a restart.
const (
	AnnotTermMessagePath   = "io.kubernetes.container.terminationMessagePath"
	AnnotTermMessagePolicy = "io.kubernetes.container.terminationMessagePolicy"
)

// Event reasons of failed lifecycle hooks, as Kubernetes records them.
const (
	ReasonFailedPostStartHook = "FailedPostStartHook"
	ReasonFailedPreStopHook   = "FailedPreStopHook"
	// ReasonDeadlineExceeded and MessageDeadlineExceeded fail a pod that outlived its
	// activeDeadlineSeconds.
	ReasonDeadlineExceeded  = "DeadlineExceeded"
	MessageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// minimumGracePeriod is the least a container gets between SIGTERM and SIGKILL after its
// preStop hook used up the grace period (Kubernetes' minimumGracePeriodInSeconds).
const minimumGracePeriod = 2

// lifecycleState is the worker's memory of termination messages: they are read once per
// exited container.
type lifecycleState struct {
	messages map[string]string // by container ID
}

// podName formats pod as Kubernetes' format.Pod does: name_namespace(uid).
func podName(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// findContainerSpec finds the container (app or init) called name in pod.
func findContainerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// ---- termination messages ----

// terminationMount makes the per-container file that holds the termination message (under
// the pod's directory, world-writable so any user of the container can write it), mounted at
// the container's terminationMessagePath.
func (w *podWorker) terminationMount(pod *corev1.Pod, c *corev1.Container, attempt uint32, cfg *runtimeapi.ContainerConfig) error {
	path := c.TerminationMessagePath
	if path == "" {
		path = corev1.TerminationMessagePathDefault
	}
	dir := filepath.Join(w.k.podDir(string(pod.UID)), "containers", c.Name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating the termination message directory: %w", err)
	}
	file := filepath.Join(dir, fmt.Sprintf("termination-log-%d", attempt))
	if attempt >= 2 {
		// Only the latest two attempts are kept (see startContainer's prune).
		_ = os.Remove(filepath.Join(dir, fmt.Sprintf("termination-log-%d", attempt-2)))
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("creating the termination message file: %w", err)
	}
	_ = f.Close()
	if err := os.Chmod(file, 0o666); err != nil {
		return fmt.Errorf("creating the termination message file: %w", err)
	}
	for _, m := range cfg.Mounts {
		if m.ContainerPath == path {
			return nil // a volume is mounted there
		}
	}
	cfg.Mounts = append(cfg.Mounts, &runtimeapi.Mount{ContainerPath: path, HostPath: file})
	if cfg.Annotations == nil {
		cfg.Annotations = map[string]string{}
	}
	policy := c.TerminationMessagePolicy
	if policy == "" {
		policy = corev1.TerminationMessageReadFile
	}
	cfg.Annotations[AnnotTermMessagePath] = path
	cfg.Annotations[AnnotTermMessagePolicy] = string(policy)
	return nil
}

// terminatedState is the terminated state of an exited container, with its termination
// message.
func (w *podWorker) terminatedState(pod *corev1.Pod, c *corev1.Container, s *runtimeapi.ContainerStatus) *corev1.ContainerStateTerminated {
	t := terminated(s, w.k.runtimeName())
	msg := w.terminationMessage(c, s)
	if msg != "" {
		if t.Message != "" {
			t.Message += ": "
		}
		t.Message += msg
	}
	per := maxPodTerminationMessages
	if n := len(pod.Spec.Containers) + len(pod.Spec.InitContainers); n > 0 {
		per /= n
	}
	if len(t.Message) > per {
		t.Message = t.Message[:per]
	}
	return t
}

// terminationMessage reads what the exited container s left in its termination message
// file, or with FallbackToLogsOnError, when that is empty and it failed, its log's tail.
func (w *podWorker) terminationMessage(c *corev1.Container, s *runtimeapi.ContainerStatus) string {
	if s.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		return ""
	}
	if w.life.messages == nil {
		w.life.messages = map[string]string{}
	}
	if m, ok := w.life.messages[s.Id]; ok {
		return m
	}
	path, policy := s.Annotations[AnnotTermMessagePath], corev1.TerminationMessagePolicy(s.Annotations[AnnotTermMessagePolicy])
	if path == "" && c != nil {
		path, policy = c.TerminationMessagePath, c.TerminationMessagePolicy
		if path == "" {
			path = corev1.TerminationMessagePathDefault
		}
	}
	var msg string
	for _, m := range s.Mounts {
		if m.ContainerPath == path && m.HostPath != "" {
			msg = readTail(m.HostPath, maxTerminationMessage)
			break
		}
	}
	if msg == "" && policy == corev1.TerminationMessageFallbackToLogsOnError && s.ExitCode != 0 && s.Reason != "ContainerCannotRun" {
		msg = w.logTail(s)
	}
	if len(w.life.messages) > 64 {
		clear(w.life.messages)
	}
	w.life.messages[s.Id] = msg
	return msg
}

// readTail reads at most the last limit bytes of the file ("" when it cannot be read).
func readTail(path string, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	if fi.Size() > limit {
		if _, err := f.Seek(fi.Size()-limit, io.SeekStart); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return ""
	}
	return string(b)
}

// logTail is the start (2 KiB) of the last 80 lines of the container's log.
func (w *podWorker) logTail(s *runtimeapi.ContainerStatus) string {
	if s.LogPath == "" {
		return ""
	}
	lines, limit := int64(maxTerminationMessageLogLines), int64(maxTerminationMessageLogBytes)
	opts := &logs.LogOptions{}
	opts.TailLines, opts.LimitBytes = &lines, &limit
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := logs.ReadLogs(ctx, s.LogPath, s.Id, opts, w.k.runtime, &buf, &buf); err != nil {
		return buf.String()
	}
	return buf.String()
}

// ---- lifecycle hooks ----

// runHook runs a postStart or preStop handler of container c (runtime ID id); on failure it
// returns the message Kubernetes' kubelet records in the event.
func (w *podWorker) runHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, h *corev1.LifecycleHandler, id, podIP string) (string, error) {
	switch {
	case h.Exec != nil:
		stdout, stderr, err := w.k.runtime.ExecSync(ctx, id, h.Exec.Command, 0)
		if err != nil {
			out := string(stdout) + string(stderr)
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", h.Exec.Command, c.Name, podName(pod), err, out), err
		}
		return "", nil
	case h.HTTPGet != nil:
		err := w.hookHTTP(ctx, pod, h.HTTPGet, podIP)
		if err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", h.HTTPGet.Path, c.Name, podName(pod), err), err
		}
		return "", nil
	case h.Sleep != nil:
		t := w.k.cfg.Clock.NewTimer(time.Duration(h.Sleep.Seconds) * time.Second)
		defer t.Stop()
		select {
		case <-t.C():
		case <-ctx.Done():
		}
		return "", nil
	case h.TCPSocket != nil:
		err := fmt.Errorf("tcpSocket is not a valid lifecycle handler")
		return fmt.Sprintf("Lifecycle hook for Container %q in Pod %q failed - error: %v", c.Name, podName(pod), err), err
	}
	err := fmt.Errorf("invalid handler: %v", h)
	return err.Error(), err
}

// hookHTTP sends an httpGet hook's request: to host (default the pod IP), port, path (with
// its query), scheme and headers; as Kubernetes does, only a failed request fails the hook,
// whatever status it answers, and an HTTPS request answered in plain HTTP is retried in HTTP.
func (w *podWorker) hookHTTP(ctx context.Context, pod *corev1.Pod, g *corev1.HTTPGetAction, podIP string) error {
	host := g.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		return fmt.Errorf("the pod has no IP")
	}
	port, ok := w.hookPort(pod, g.Port)
	if !ok {
		return fmt.Errorf("invalid port %s", g.Port.String())
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	do := func(scheme string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, httpGetURL(scheme, host, port, g.Path).String(), nil)
		if err != nil {
			return err
		}
		for _, h := range g.HTTPHeaders {
			if strings.EqualFold(h.Name, "Host") {
				req.Host = h.Value
				continue
			}
			req.Header.Add(h.Name, h.Value)
		}
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", "kube-lifecycle/1.37")
		}
		resp, err := w.k.probeHTTP.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		return resp.Body.Close()
	}
	err := do(scheme)
	if err != nil && scheme == "https" && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		err = do("http")
	}
	return err
}

// httpGetURL is the URL of an httpGet hook or probe: path may carry a query
// ("/echo?msg=startup"), kept as such, as Kubernetes' kubelet keeps it.
func httpGetURL(scheme, host string, port int, path string) *url.URL {
	u, err := url.Parse(path)
	if err != nil || path == "" {
		u = &url.URL{Path: path}
	}
	u.Scheme, u.Host = scheme, net.JoinHostPort(host, strconv.Itoa(port))
	if u.Path != "" && !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	return u
}

// hookPort resolves an httpGet hook's port: a number or a named port of any container.
func (w *podWorker) hookPort(pod *corev1.Pod, p intstr.IntOrString) (int, bool) {
	if p.Type == intstr.Int {
		n := p.IntValue()
		return n, n > 0 && n < 65536
	}
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range list {
			for _, cp := range c.Ports {
				if cp.Name == p.StrVal {
					return int(cp.ContainerPort), true
				}
			}
		}
	}
	n, err := strconv.Atoi(p.StrVal)
	return n, err == nil && n > 0 && n < 65536
}

// postStart runs container c's postStart hook right after it started, before it is reported
// Running (the worker does not post a status meanwhile). The hook is abandoned when the pod
// is deleted. A failed hook records FailedPostStartHook and kills the container, which is
// then restarted per the restart policy. It returns false when the hook failed.
func (w *podWorker) postStart(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id, podIP string) bool {
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return true
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		msg string
		err error
	}
	done := make(chan result, 1)
	go func() {
		msg, err := w.runHook(hctx, pod, c, c.Lifecycle.PostStart, id, podIP)
		done <- result{msg, err}
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var res result
wait:
	for {
		select {
		case res = <-done:
			break wait
		case <-tick.C:
			w.mu.Lock()
			gone := w.removed || w.pod.DeletionTimestamp != nil
			w.mu.Unlock()
			if gone {
				cancel()
				res = <-done
				return true // the pod is being deleted: terminate takes over
			}
		}
	}
	if res.err == nil {
		return true
	}
	w.k.logf("pod %s/%s: container %s: postStart hook failed: %s", pod.Namespace, pod.Name, c.Name, res.msg)
	w.event(ctx, pod, c.Name, corev1.EventTypeWarning, ReasonFailedPostStartHook, res.msg)
	_ = ignoreNotFound(w.k.runtime.StopContainer(ctx, id, w.gracePeriod(pod)))
	w.waiting[c.Name] = &corev1.ContainerStateWaiting{Reason: "PostStartHookError", Message: res.msg}
	return false
}

// preStop runs container c's preStop hook until it returns or the deadline (the end of the
// grace period) passes, whichever comes first.
func (w *podWorker) preStop(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id, podIP string, deadline time.Time) {
	if c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil || !time.Now().Before(deadline) {
		return
	}
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		msg, err := w.runHook(hctx, pod, c, c.Lifecycle.PreStop, id, podIP)
		if err != nil && hctx.Err() == nil {
			w.k.logf("pod %s/%s: container %s: preStop hook failed: %s", pod.Namespace, pod.Name, c.Name, msg)
			w.event(ctx, pod, c.Name, corev1.EventTypeWarning, ReasonFailedPreStopHook, msg)
		}
	}()
	select {
	case <-done:
	case <-hctx.Done():
		w.k.logf("pod %s/%s: container %s: preStop hook not completed in the grace period", pod.Namespace, pod.Name, c.Name)
	}
}

// gracePeriod is the pod's termination grace period: the deletion's if set, else the spec's.
func (w *podWorker) gracePeriod(pod *corev1.Pod) int64 {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.DeletionGracePeriodSeconds != nil {
		grace = *pod.DeletionGracePeriodSeconds
	}
	return grace
}

// stopContainer stops one container by the deadline (the end of its grace period): its
// preStop hook first, then, once every container in after has stopped (a sidecar waits for
// the app containers and the sidecars started after it), the stop signal with what is left
// of the grace period (at least minimumGracePeriod when the hook or the wait used it up; a
// grace period of 0 kills at once, without the hook).
func (w *podWorker) stopContainer(ctx context.Context, pod *corev1.Pod, ctr *runtimeapi.Container, podIP string, deadline time.Time, after []chan struct{}) {
	name := ctr.GetLabels()[LabelContainerName]
	if name == "" {
		name = ctr.GetMetadata().GetName()
	}
	begin := time.Now()
	graceful := deadline.After(begin)
	if graceful && ctr.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		w.preStop(ctx, pod, findContainerSpec(pod, name), ctr.Id, podIP, deadline)
	}
	if graceful && len(after) > 0 {
		turn := time.NewTimer(time.Until(deadline))
	wait:
		for _, ch := range after {
			select {
			case <-ch:
			case <-turn.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		turn.Stop()
	}
	var grace int64
	if graceful {
		grace = int64(math.Ceil(time.Until(deadline).Seconds()))
		if time.Since(begin) >= time.Second && grace < minimumGracePeriod {
			grace = minimumGracePeriod
		}
		grace = max(grace, 1)
	}
	if err := ignoreNotFound(w.k.runtime.StopContainer(ctx, ctr.Id, grace)); err != nil {
		w.k.logf("pod %s/%s: stopping container %s: %v", pod.Namespace, pod.Name, ctr.Id, err)
	}
}

// killPod stops the pod's running containers within grace seconds, as Kubernetes' kubelet
// orders termination: every container's preStop hook starts at once; the app containers (and
// regular init containers) get the stop signal after their hook; a sidecar gets it after its
// hook once the app containers have exited and the sidecars after it in spec order have
// stopped: sidecars stop last, in the reverse of their start order. All within the grace
// period counted from now.
func (w *podWorker) killPod(ctx context.Context, pod *corev1.Pod, grace int64) {
	k := w.k
	sel := map[string]string{LabelPodUID: string(pod.UID)}
	ctrs, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return
	}
	podIP := ""
	if sbs, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel}); err == nil {
		if sb := readySandbox(sbs); sb != nil {
			podIP = w.sandboxIP(ctx, sb.Id)
		}
	}
	deadline := time.Now().Add(time.Duration(max(grace, 0)) * time.Second)
	live := map[string][]*runtimeapi.Container{}
	for _, ctr := range ctrs {
		if ctr.State != runtimeapi.ContainerState_CONTAINER_RUNNING && ctr.State != runtimeapi.ContainerState_CONTAINER_CREATED {
			continue
		}
		name := ctr.GetLabels()[LabelContainerName]
		if name == "" {
			name = ctr.GetMetadata().GetName()
		}
		live[name] = append(live[name], ctr)
	}
	stopped := map[string]chan struct{}{}
	for name := range live {
		stopped[name] = make(chan struct{})
	}
	// after[name]: what a sidecar waits for before its stop signal.
	after := map[string][]chan struct{}{}
	var waiting []chan struct{} // the app containers, regular init containers and later sidecars
	for _, c := range pod.Spec.Containers {
		if ch := stopped[c.Name]; ch != nil {
			waiting = append(waiting, ch)
		}
	}
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; !isSidecar(c) && stopped[c.Name] != nil {
			waiting = append(waiting, stopped[c.Name])
		}
	}
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		c := &pod.Spec.InitContainers[i]
		if !isSidecar(c) {
			continue
		}
		after[c.Name] = append([]chan struct{}(nil), waiting...)
		if ch := stopped[c.Name]; ch != nil {
			waiting = append(waiting, ch)
		}
	}
	var wg sync.WaitGroup
	for name, list := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(stopped[name])
			var each sync.WaitGroup
			for _, ctr := range list {
				each.Add(1)
				go func() {
					defer each.Done()
					w.stopContainer(ctx, pod, ctr, podIP, deadline, after[name])
				}()
			}
			each.Wait()
		}()
	}
	wg.Wait()
}

// ---- activeDeadlineSeconds ----

// deadlineExceeded reports whether the pod has been active longer than its
// activeDeadlineSeconds, counted from its startTime.
func (w *podWorker) deadlineExceeded(pod *corev1.Pod) bool {
	if pod.Spec.ActiveDeadlineSeconds == nil || w.startTime == nil {
		return false
	}
	d := time.Duration(*pod.Spec.ActiveDeadlineSeconds) * time.Second
	return w.k.cfg.Clock.Since(w.startTime.Time) >= d
}

// failDeadline fails a pod past its deadline: its containers are killed within the grace
// period and it ends Failed with reason DeadlineExceeded.
func (w *podWorker) failDeadline(ctx context.Context, pod *corev1.Pod) {
	k := w.k
	k.logf("pod %s/%s: %s", pod.Namespace, pod.Name, MessageDeadlineExceeded)
	w.event(ctx, pod, "", corev1.EventTypeNormal, ReasonDeadlineExceeded, "Pod was active on the node longer than the specified deadline")
	w.killPod(ctx, pod, w.gracePeriod(pod))
	sel := map[string]string{LabelPodUID: string(pod.UID)}
	ctrs, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return
	}
	view := w.observe(ctx, ctrs)
	st := w.buildStatus(pod, nil, view)
	st.Phase, st.Reason, st.Message = corev1.PodFailed, ReasonDeadlineExceeded, MessageDeadlineExceeded
	for i := range st.Conditions {
		switch st.Conditions[i].Type {
		case corev1.PodReady, corev1.ContainersReady:
			st.Conditions[i].Status, st.Conditions[i].Reason, st.Conditions[i].Message = corev1.ConditionFalse, "PodFailed", ""
		}
	}
	// Containers that would be restarted are not: they end terminated.
	fix := func(list []corev1.ContainerStatus) {
		for i := range list {
			cs := &list[i]
			cs.Ready = false
			if cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil && view[cs.Name] != nil &&
				view[cs.Name].latest.State == runtimeapi.ContainerState_CONTAINER_EXITED {
				cs.State = corev1.ContainerState{Terminated: cs.LastTerminationState.Terminated}
				cs.LastTerminationState = corev1.ContainerState{}
				if p := view[cs.Name].previous; p != nil && p.State == runtimeapi.ContainerState_CONTAINER_EXITED {
					cs.LastTerminationState.Terminated = w.terminatedState(pod, findContainerSpec(pod, cs.Name), p)
				}
			}
		}
	}
	fix(st.ContainerStatuses)
	fix(st.InitContainerStatuses)
	w.postStatus(ctx, pod, st)
	w.terminal = true
	sbs, _ := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	for _, s := range sbs {
		_ = ignoreNotFound(k.runtime.StopPodSandbox(ctx, s.Id))
	}
}

// event records an event of type on pod (on its container c when c is not ""), as the
// kubelet's recorder does.
func (w *podWorker) event(_ context.Context, pod *corev1.Pod, c, typ, reason, message string) {
	w.k.eventf(pod, c, typ, reason, "%s", message)
}
