package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// Sources of the status and stream behaviours.
const (
	srcPodGeneration = "Kubernetes: Pod lifecycle, pod generation (metadata.generation moves on each spec change; status.observedGeneration is the generation the kubelet acted on)"
	srcLogsOptions   = "Kubernetes API: PodLogOptions (tailLines, limitBytes, timestamps, previous)"
	srcLogsWebSocket = "Kubernetes API: pods/log streamed over a WebSocket (subprotocol binary.k8s.io), as clients and the e2e suite read it"
	srcEphemeral     = "Kubernetes: Ephemeral Containers (added through pods/NAME/ephemeralcontainers, run in the existing pod, as kubectl debug does)"
)

func kubeletStreamSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.pod.generation-observed",
			"a new pod MUST get metadata.generation 1 (whatever the client sent), each spec change MUST bump it by one while a metadata-only change MUST NOT, and the kubelet MUST report status.observedGeneration equal to the latest generation",
			srcPodGeneration), specPodGenerationObserved},
		{kubeletBehavior("kubelet.logs.options",
			"pods/log MUST honour tailLines (the last N lines), limitBytes (at most N bytes), timestamps (each line prefixed with its RFC 3339 time) and previous (the log of the container in lastState.terminated)",
			srcLogsOptions), specLogsOptions},
		{kubeletBehavior("kubelet.logs.websocket",
			"pods/log asked over a WebSocket with subprotocol binary.k8s.io MUST stream the container's log as the messages' bytes and close the stream at its end",
			srcLogsWebSocket), specLogsWebSocket},
		{kubeletBehavior("kubelet.ephemeral.runs-in-pod",
			"an ephemeral container added to a running pod through pods/NAME/ephemeralcontainers MUST be started inside that pod (reported running in ephemeralContainerStatuses, exec in it sees the pod's hostname) without restarting the pod's containers",
			srcEphemeral), specEphemeralRunsInPod},
	}
}

func specEphemeralRunsInPod(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	e.create(ctx, g, e.testPod("target", "serve-hostname"))
	before := e.waitPod(ctx, g, "target", "Running", startTimeout, isRunning)
	debugger := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: []string{"/ckimage"}, Args: []string{"sleep", "3600"},
	}}
	g.Eventually(func() error {
		cur, err := pods.Get(ctx, "target", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.EphemeralContainers = append(cur.Spec.EphemeralContainers, debugger)
		_, err = pods.UpdateEphemeralContainers(ctx, "target", cur, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(20*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "adding an ephemeral container")
	running := e.waitPod(ctx, g, "target", "the ephemeral container running", startTimeout, func(p *corev1.Pod) bool {
		return len(p.Status.EphemeralContainerStatuses) == 1 && p.Status.EphemeralContainerStatuses[0].State.Running != nil
	})
	g.Expect(running.Status.EphemeralContainerStatuses[0].Name).To(gomega.Equal("debugger"))
	var out string
	g.Eventually(func() error {
		o, _, code, err := podExec(ctx, e.k.Config, e.client, e.ns, "target", "debugger", "websocket", nil, "/ckimage", "hostname")
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("exit code %d", code)
		}
		out = o
		return nil
	}).WithContext(ctx).WithTimeout(20*time.Second).WithPolling(500*time.Millisecond).Should(gomega.Succeed(), "exec in the ephemeral container")
	g.Expect(strings.TrimSpace(out)).To(gomega.Equal("target"), "the ephemeral container runs in the pod: it has the pod's hostname")
	after := e.waitPod(ctx, g, "target", "Running", startTimeout, isRunning)
	g.Expect(containerStatus(after).ContainerID).To(gomega.Equal(containerStatus(before).ContainerID), "adding an ephemeral container must not replace the pod's container")
	g.Expect(containerStatus(after).RestartCount).To(gomega.BeZero(), "adding an ephemeral container must not restart the pod's container")
}

func specPodGenerationObserved(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	p := e.testPod("gen", "serve-hostname")
	p.Generation = 100
	p.Spec.ActiveDeadlineSeconds = ptr.To[int64](5000)
	created := e.create(ctx, g, p)
	g.Expect(created.Generation).To(gomega.Equal(int64(1)), "a new pod's generation is 1, not what the client sent")
	observed := func(gen int64) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool { return p.Status.ObservedGeneration == gen }
	}
	e.waitPod(ctx, g, "gen", "status.observedGeneration 1", startTimeout, observed(1))
	update := func(what string, change func(*corev1.Pod)) *corev1.Pod {
		var out *corev1.Pod
		g.Eventually(func() error {
			cur, err := pods.Get(ctx, "gen", metav1.GetOptions{})
			if err != nil {
				return err
			}
			change(cur)
			out, err = pods.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		}).WithContext(ctx).WithTimeout(20*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "updating the pod: %s", what)
		return out
	}
	got := update("activeDeadlineSeconds 5000 → 4000", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](4000) })
	g.Expect(got.Generation).To(gomega.Equal(int64(2)), "a spec change bumps the generation")
	e.waitPod(ctx, g, "gen", "status.observedGeneration 2", 30*time.Second, observed(2))
	got = update("a toleration", func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "example.com/gen", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	})
	g.Expect(got.Generation).To(gomega.Equal(int64(3)), "a second spec change bumps the generation again")
	got = update("an annotation and a client-set generation", func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations["example.com/gen"] = "x"
		p.Generation = 1
	})
	g.Expect(got.Generation).To(gomega.Equal(int64(3)), "metadata changes (and a generation set by the client) leave the generation alone")
	e.waitPod(ctx, g, "gen", "status.observedGeneration 3", 30*time.Second, observed(3))
}

// logs reads pods/log of the pod's container c with opts.
func (e *kubeletEnv) logs(ctx context.Context, pod string, opts corev1.PodLogOptions) (string, error) {
	opts.Container = "c"
	b, err := e.client.CoreV1().Pods(e.ns).GetLogs(pod, &opts).DoRaw(ctx)
	return string(b), err
}

func specLogsOptions(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("talk", "logs", "--lines", "5"))
	crash := e.testPod("crash", "exit", "--code", "3", "--after", "3s")
	crash.Spec.RestartPolicy = corev1.RestartPolicyAlways
	e.create(ctx, g, crash)
	e.waitPod(ctx, g, "talk", "Running", startTimeout, isRunning)
	g.Eventually(func() (string, error) { return e.logs(ctx, "talk", corev1.PodLogOptions{}) }).
		WithContext(ctx).WithTimeout(10*time.Second).WithPolling(200*time.Millisecond).
		Should(gomega.Equal("line 1\nline 2\nline 3\nline 4\nline 5\n"), "the whole log")

	out, err := e.logs(ctx, "talk", corev1.PodLogOptions{TailLines: ptr.To[int64](2)})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "tailLines")
	g.Expect(out).To(gomega.Equal("line 4\nline 5\n"), "tailLines=2")

	out, err = e.logs(ctx, "talk", corev1.PodLogOptions{LimitBytes: ptr.To[int64](9)})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "limitBytes")
	g.Expect(out).To(gomega.Equal("line 1\nli"), "limitBytes=9")

	out, err = e.logs(ctx, "talk", corev1.PodLogOptions{Timestamps: true, TailLines: ptr.To[int64](1)})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "timestamps")
	ts, rest, ok := strings.Cut(strings.TrimSuffix(out, "\n"), " ")
	g.Expect(ok).To(gomega.BeTrue(), "timestamps=true: %q has no timestamp prefix", out)
	_, perr := time.Parse(time.RFC3339Nano, ts)
	g.Expect(perr).NotTo(gomega.HaveOccurred(), "timestamps=true: %q does not start with an RFC 3339 time", out)
	g.Expect(rest).To(gomega.Equal("line 5"), "timestamps=true with tailLines=1")

	// previous: the log of the container in lastState.terminated. Its one line was written
	// when it started, so its timestamp lies before that container finished, while the
	// current container (if running) started after.
	g.Eventually(func() error {
		before, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "crash", metav1.GetOptions{})
		if err != nil {
			return err
		}
		last := containerStatus(before).LastTerminationState.Terminated
		if last == nil {
			return fmt.Errorf("no lastState.terminated yet: %s", describeStatus(before))
		}
		out, err := e.logs(ctx, "crash", corev1.PodLogOptions{Previous: true, Timestamps: true})
		if err != nil {
			return fmt.Errorf("previous: %w", err)
		}
		after, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "crash", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if containerStatus(after).RestartCount != containerStatus(before).RestartCount {
			return errors.New("the container restarted while its log was read")
		}
		ts, line, _ := strings.Cut(strings.TrimSuffix(out, "\n"), " ")
		if line != "exiting with code 3 after 3s" {
			return fmt.Errorf("previous=true answered %q, want the line of the terminated container", out)
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return fmt.Errorf("previous=true&timestamps=true: %q: %w", out, err)
		}
		if !at.Before(last.FinishedAt.Time) || at.Before(last.StartedAt.Time.Add(-time.Second)) {
			return fmt.Errorf("previous=true answered a line written at %s, not by the container of lastState (started %s, finished %s)",
				at.Format(time.RFC3339Nano), last.StartedAt.Format(time.RFC3339), last.FinishedAt.Format(time.RFC3339))
		}
		return nil
	}).WithContext(ctx).WithTimeout(startTimeout+restartSlack+3*e.base).WithPolling(500*time.Millisecond).Should(gomega.Succeed(), "logs of the previous container")
}

func specLogsWebSocket(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("ws", "logs", "--lines", "3"))
	e.waitPod(ctx, g, "ws", "Running", startTimeout, isRunning)
	want := "line 1\nline 2\nline 3\n"
	g.Eventually(func() (string, error) { return e.logs(ctx, "ws", corev1.PodLogOptions{}) }).
		WithContext(ctx).WithTimeout(10*time.Second).WithPolling(200*time.Millisecond).
		Should(gomega.Equal(want), "the log over HTTP first")
	u := e.client.CoreV1().RESTClient().Get().Namespace(e.ns).Resource("pods").Name("ws").SubResource("log").Param("container", "c").URL()
	got, err := readWebSocket(ctx, e.k.Config, u.String(), "binary.k8s.io")
	g.Expect(err).NotTo(gomega.HaveOccurred(), "reading pods/log over a WebSocket")
	g.Expect(got).To(gomega.Equal(want), "the log over a WebSocket")
}

// readWebSocket opens a WebSocket to the API URL u with subprotocol and returns the bytes
// of all its messages until the server closes it.
func readWebSocket(ctx context.Context, cfg *rest.Config, u, subprotocol string) (string, error) {
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return "", err
	}
	headers, err := authHeaders(cfg)
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	d := websocket.Dialer{TLSClientConfig: tlsCfg, Subprotocols: []string{subprotocol}, HandshakeTimeout: 30 * time.Second, Proxy: http.ProxyFromEnvironment}
	conn, resp, err := d.DialContext(ctx, u, headers)
	if err != nil {
		if resp != nil {
			return "", fmt.Errorf("websocket handshake: %s: %w", resp.Status, err)
		}
		return "", err
	}
	defer func() { _ = conn.Close() }()
	if conn.Subprotocol() != subprotocol {
		return "", fmt.Errorf("the server chose subprotocol %q, not %q", conn.Subprotocol(), subprotocol)
	}
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > time.Minute {
		deadline = time.Now().Add(time.Minute)
	}
	_ = conn.SetReadDeadline(deadline)
	var b strings.Builder
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseNoStatusReceived) {
				return b.String(), nil
			}
			if errors.Is(err, websocket.ErrCloseSent) || strings.Contains(err.Error(), "EOF") {
				return b.String(), nil
			}
			return b.String(), err
		}
		b.Write(msg)
	}
}

// authHeaders are the headers (Authorization, impersonation, …) client-go would add to a
// request made with cfg.
func authHeaders(cfg *rest.Config) (http.Header, error) {
	var captured http.Header
	rt, err := rest.HTTPWrappersForConfig(cfg, roundTripFunc(func(r *http.Request) (*http.Response, error) {
		captured = r.Header.Clone()
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	}))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if captured == nil {
		captured = http.Header{}
	}
	return captured, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
