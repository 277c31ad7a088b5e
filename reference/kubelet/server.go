package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/util/proxy"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"
	"k8s.io/utils/exec"
)

// runtimeName is the runtime's name for container IDs ("containerd://ID").
func (k *Kubelet) runtimeName() string {
	k.mu.Lock()
	name, rt := k.rtName, k.runtime
	k.mu.Unlock()
	if name != "" {
		return name
	}
	if rt != nil {
		if v, err := rt.Version(context.Background(), "v1"); err == nil && v.RuntimeName != "" {
			k.mu.Lock()
			k.rtName = v.RuntimeName
			k.mu.Unlock()
			return v.RuntimeName
		}
	}
	return "cri"
}

// Handler serves the kubelet's API: /healthz, /containerLogs/NS/POD/CONTAINER
// /exec/NS/POD/CONTAINER, /attach/NS/POD/CONTAINER, /portForward/NS/POD, /stats/summary and
// /metrics/resource (stats.go).
func (k *Kubelet) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", k.serveLogs)
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", k.serveExec)
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", k.serveAttach)
	mux.HandleFunc("/portForward/{ns}/{pod}", k.servePortForward)
	mux.HandleFunc("GET /stats/summary", k.serveStatsSummary)
	mux.HandleFunc("GET /metrics/resource", k.serveMetricsResource)
	return mux
}

// findContainer returns the runtime container of ns/pod/container: the
// latest attempt, or the one before when previous is set.
func (k *Kubelet) findContainer(ctx context.Context, ns, pod, container string, previous bool) (*runtimeapi.ContainerStatus, error) {
	w := k.workerFor(ns, pod)
	if w == nil {
		return nil, fmt.Errorf("pod %s/%s is not on node %s", ns, pod, k.cfg.NodeName)
	}
	p := w.currentPod()
	ctrs, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{
		LabelPodUID: string(p.UID), LabelContainerName: container,
	}})
	if err != nil {
		return nil, err
	}
	best, second := (*runtimeapi.Container)(nil), (*runtimeapi.Container)(nil)
	for _, c := range ctrs {
		switch {
		case best == nil || attemptOf(c) > attemptOf(best):
			best, second = c, best
		case second == nil || attemptOf(c) > attemptOf(second):
			second = c
		}
	}
	pick := best
	if previous && (best == nil || best.State == runtimeapi.ContainerState_CONTAINER_RUNNING || best.State == runtimeapi.ContainerState_CONTAINER_CREATED) {
		// The previous container is the one of lastState.terminated, as the kubelet answers
		// it: the newest attempt when that has exited (waiting for its restart), else the one
		// before.
		pick = second
	}
	if pick == nil {
		if previous {
			return nil, fmt.Errorf("previous terminated container %q in pod %q not found", container, pod)
		}
		return nil, fmt.Errorf("container %q in pod %q is waiting to start", container, pod)
	}
	st, err := k.runtime.ContainerStatus(ctx, pick.Id, false)
	if err != nil {
		return nil, err
	}
	return st.Status, nil
}

func (k *Kubelet) serveLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ctx := r.Context()
	previous, _ := strconv.ParseBool(q.Get("previous"))
	s, err := k.findContainer(ctx, r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"), previous)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	opts := &logs.LogOptions{}
	opts.Follow, _ = strconv.ParseBool(q.Get("follow"))
	opts.Timestamp, _ = strconv.ParseBool(q.Get("timestamps"))
	if v := q.Get("tailLines"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			opts.TailLines = &n
		}
	}
	if v := q.Get("limitBytes"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			opts.LimitBytes = &n
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			opts.Since = time.Now().Add(-time.Duration(n) * time.Second)
		}
	}
	if v := q.Get("sinceTime"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			opts.Since = t
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	out := &flushWriter{w: w}
	if s.LogPath == "" {
		return
	}
	if err := logs.ReadLogs(ctx, s.LogPath, s.Id, opts, k.runtime, out, out); err != nil && ctx.Err() == nil {
		k.logf("reading logs of %s: %v", s.Id, err)
	}
}

// flushWriter flushes after every write, for follow.
type flushWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func (f *flushWriter) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.w.Write(b)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// execStreams are the streams of one exec session, whatever the protocol.
type execStreams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	errorStream    io.Writer
	// version is the negotiated protocol ("v4.channel.k8s.io" …): v1/v2
	// write a plain message on the error stream, later ones a Status.
	version string
	close   func()
}

var execProtocols = []string{
	remotecommandconsts.StreamProtocolV4Name,
	remotecommandconsts.StreamProtocolV3Name, remotecommandconsts.StreamProtocolV2Name,
	remotecommandconsts.StreamProtocolV1Name,
}

func (k *Kubelet) serveExec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cmd := q["command"]
	if len(cmd) == 0 {
		http.Error(w, "you must specify at least 1 command", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	s, err := k.findContainer(ctx, r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"), false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		http.Error(w, fmt.Sprintf("container %s is not running", r.PathValue("container")), http.StatusBadRequest)
		return
	}
	wantStdin, _ := strconv.ParseBool(q.Get("stdin"))
	wantStdout, _ := strconv.ParseBool(q.Get("stdout"))
	wantStderr, _ := strconv.ParseBool(q.Get("stderr"))
	tty, _ := strconv.ParseBool(q.Get("tty"))
	if wantStdin || tty {
		// Interactive: the runtime's own streaming server carries stdin
		// and the terminal; the kubelet proxies the connection there.
		k.proxyExec(w, r, &runtimeapi.ExecRequest{ContainerId: s.Id, Cmd: cmd, Tty: tty,
			Stdin: wantStdin, Stdout: wantStdout, Stderr: wantStderr && !tty})
		return
	}
	var streams *execStreams
	if wsstream.IsWebSocketRequest(r) {
		streams, err = openWebSocket(w, r, wantStdin, wantStdout, wantStderr)
	} else {
		streams, err = openSPDY(w, r, wantStdin, wantStdout, wantStderr)
	}
	if err != nil {
		k.logf("exec: %v", err)
		return
	}
	defer streams.close()
	stdout, stderr, execErr := k.runtime.ExecSync(ctx, s.Id, cmd, 0)
	if streams.stdout != nil {
		_, _ = streams.stdout.Write(stdout)
	}
	if streams.stderr != nil {
		_, _ = streams.stderr.Write(stderr)
	} else if streams.stdout != nil {
		_, _ = streams.stdout.Write(stderr)
	}
	writeExecStatus(streams, execErr)
}

// serveAttach attaches the client to a running container's own streams: the runtime's
// streaming server (CRI Attach) carries them, the kubelet proxies the connection there.
func (k *Kubelet) serveAttach(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ctx := r.Context()
	s, err := k.findContainer(ctx, r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"), false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		http.Error(w, fmt.Sprintf("container %s is not running", r.PathValue("container")), http.StatusBadRequest)
		return
	}
	flag := func(name string) bool {
		v, _ := strconv.ParseBool(q.Get(name))
		return v
	}
	tty := flag("tty")
	resp, err := k.runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: s.Id, Stdin: flag("stdin"), Tty: tty,
		Stdout: flag("stdout"), Stderr: flag("stderr") && !tty})
	if err != nil {
		http.Error(w, fmt.Sprintf("attach: %v", err), http.StatusInternalServerError)
		return
	}
	k.proxyStream(w, r, "attach", resp.Url, &proxy.Options{Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr") && !tty, Tty: tty})
}

// proxyExec asks the runtime for a streaming URL (CRI Exec) and proxies the
// client's upgraded connection to it.
func (k *Kubelet) proxyExec(w http.ResponseWriter, r *http.Request, req *runtimeapi.ExecRequest) {
	resp, err := k.runtime.Exec(r.Context(), req)
	if err != nil {
		http.Error(w, fmt.Sprintf("exec: %v", err), http.StatusInternalServerError)
		return
	}
	k.proxyStream(w, r, "exec", resp.Url, &proxy.Options{Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr, Tty: req.Tty})
}

// proxyStream proxies the client's upgraded connection to a streaming URL of the runtime. With
// remote-command options (exec, attach), a WebSocket client (the v5 channel protocol client-go
// and kubectl speak) is translated to SPDY, which every CRI streaming server serves, as
// Kubernetes' API server translates it; without (port-forward, whose WebSocket protocol CRI
// streaming servers speak themselves), the connection passes as it is.
func (k *Kubelet) proxyStream(w http.ResponseWriter, r *http.Request, what, streamURL string, opts *proxy.Options) {
	target, err := url.Parse(streamURL)
	if err != nil {
		http.Error(w, fmt.Sprintf("%s: the runtime's streaming URL %q: %v", what, streamURL, err), http.StatusInternalServerError)
		return
	}
	if target.Scheme == "" {
		target.Scheme = "http"
	}
	if opts != nil && wsstream.IsWebSocketRequest(r) {
		proxy.NewStreamTranslatorHandler(target, nil, 0, *opts).ServeHTTP(w, r)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, fmt.Sprintf("%s: reaching the runtime's streaming server: %v", what, err), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}

// writeExecStatus reports the command's outcome on the error stream: a
// Success Status, or a NonZeroExitCode Status carrying the exit code.
func writeExecStatus(s *execStreams, execErr error) {
	if s.errorStream == nil {
		return
	}
	old := s.version == remotecommandconsts.StreamProtocolV1Name || s.version == remotecommandconsts.StreamProtocolV2Name
	var exitErr exec.ExitError
	var st metav1.Status
	switch {
	case execErr == nil:
		if old {
			return
		}
		st = metav1.Status{Status: metav1.StatusSuccess}
	case errors.As(execErr, &exitErr):
		code := exitErr.ExitStatus()
		if old {
			_, _ = fmt.Fprintf(s.errorStream, "command terminated with non-zero exit code: %v", execErr)
			return
		}
		st = metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommandconsts.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: error executing command, exit code %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type: remotecommandconsts.ExitCodeCauseType, Message: strconv.Itoa(code),
			}}},
		}
	default:
		if old {
			_, _ = io.WriteString(s.errorStream, execErr.Error())
			return
		}
		st = metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: execErr.Error()}
	}
	st.APIVersion, st.Kind = "v1", "Status"
	b, _ := json.Marshal(st)
	_, _ = s.errorStream.Write(b)
}

func openWebSocket(w http.ResponseWriter, r *http.Request, stdin, stdout, stderr bool) (*execStreams, error) {
	channels := []wsstream.ChannelType{wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.WriteChannel, wsstream.IgnoreChannel}
	if stdin {
		channels[0] = wsstream.ReadChannel
	}
	if stdout {
		channels[1] = wsstream.WriteChannel
	}
	if stderr {
		channels[2] = wsstream.WriteChannel
	}
	protocols := map[string]wsstream.ChannelProtocolConfig{}
	for _, p := range []string{"", remotecommandconsts.StreamProtocolV5Name, remotecommandconsts.StreamProtocolV4Name,
		remotecommandconsts.StreamProtocolV3Name, remotecommandconsts.StreamProtocolV2Name, wsstream.ChannelWebSocketProtocol} {
		protocols[p] = wsstream.ChannelProtocolConfig{Binary: true, Channels: channels}
	}
	conn := wsstream.NewConn(protocols)
	conn.SetIdleTimeout(4 * time.Hour)
	proto, chans, err := conn.Open(w, r)
	if err != nil {
		return nil, fmt.Errorf("opening the websocket: %w", err)
	}
	if proto == "" || proto == wsstream.ChannelWebSocketProtocol {
		proto = remotecommandconsts.StreamProtocolV1Name
	}
	s := &execStreams{version: proto, errorStream: chans[3], close: func() { _ = conn.Close() }}
	if stdin {
		s.stdin = chans[0]
		go func() { _, _ = io.Copy(io.Discard, chans[0]) }()
	}
	if stdout {
		s.stdout = chans[1]
	}
	if stderr {
		s.stderr = chans[2]
	}
	return s, nil
}

func openSPDY(w http.ResponseWriter, r *http.Request, stdin, stdout, stderr bool) (*execStreams, error) {
	proto, err := httpstream.Handshake(r, w, execProtocols)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, err
	}
	streamCh := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		streamCh <- s
		return nil
	})
	if conn == nil {
		return nil, errors.New("upgrading to SPDY failed")
	}
	conn.SetIdleTimeout(4 * time.Hour)
	want := 1 // the error stream
	for _, b := range []bool{stdin, stdout, stderr} {
		if b {
			want++
		}
	}
	s := &execStreams{version: proto, close: func() { _ = conn.Close() }}
	timeout := time.NewTimer(remotecommandconsts.DefaultStreamCreationTimeout)
	defer timeout.Stop()
	for got := 0; got < want; {
		select {
		case st := <-streamCh:
			switch st.Headers().Get(corev1.StreamType) {
			case corev1.StreamTypeError:
				s.errorStream = st
				got++
			case corev1.StreamTypeStdin:
				s.stdin = st
				go func() { _, _ = io.Copy(io.Discard, st) }()
				got++
			case corev1.StreamTypeStdout:
				s.stdout = st
				got++
			case corev1.StreamTypeStderr:
				s.stderr = st
				got++
			case corev1.StreamTypeResize:
				go func() { _, _ = io.Copy(io.Discard, st) }()
			}
		case <-timeout.C:
			_ = conn.Close()
			return nil, errors.New("timed out waiting for the client's streams")
		case <-conn.CloseChan():
			return nil, errors.New("the client closed the connection")
		}
	}
	inner := s.close
	s.close = func() {
		for _, c := range []any{s.stdout, s.stderr, s.errorStream} {
			if st, ok := c.(httpstream.Stream); ok {
				_ = st.Close()
			}
		}
		inner()
	}

	return s, nil
}
