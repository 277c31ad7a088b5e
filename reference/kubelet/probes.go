package kubelet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// probeKind names the three probes.
type probeKind string

const (
	liveness  probeKind = "Liveness"
	readiness probeKind = "Readiness"
	startup   probeKind = "Startup"
)

// probeUserAgent is what HTTP and gRPC probes send as User-Agent, as the kubelet of the
// same minor version does.
const probeUserAgent = "kube-probe/1.37"

// maxProbeBody bounds how much of an HTTP probe's answer is read (for the warning of a
// non-local redirect), as the kubelet's 10 KiB.
const maxProbeBody = 10 << 10

// probeResult is the outcome of one probe.
type probeResult int

const (
	probeSuccess probeResult = iota
	// probeWarning counts as success but is reported (a redirect not followed).
	probeWarning
	probeFailure
)

// containerProbes is the probe state of one running container.
type containerProbes struct {
	started, ready bool
	last           map[probeKind]time.Time
	successes      map[probeKind]int32
	failures       map[probeKind]int32
}

// runProbes runs the container's due probes; it returns true when a failed
// liveness or startup probe made it kill the container. As the kubelet's prober: the
// startup probe runs until it succeeded once (successThreshold is 1 for it), and neither
// liveness nor readiness runs before; a container is not ready before its readiness probe
// succeeded successThreshold times in a row, and a liveness or startup probe failing
// failureThreshold times in a row kills the container, within the probe's
// terminationGracePeriodSeconds when set, else the pod's.
func (w *podWorker) runProbes(ctx context.Context, pod *corev1.Pod, c *corev1.Container, s *runtimeapi.ContainerStatus, podIP string) bool {
	p := w.probes[s.Id]
	if p == nil {
		p = &containerProbes{last: map[probeKind]time.Time{}, successes: map[probeKind]int32{}, failures: map[probeKind]int32{}}
		p.started = c.StartupProbe == nil
		w.probes[s.Id] = p
	}
	now := w.k.cfg.Clock.Now()
	started := time.Unix(0, s.StartedAt)
	if s.StartedAt == 0 {
		started = now
	}
	due := func(kind probeKind, pr *corev1.Probe) bool {
		if pr == nil {
			return false
		}
		if now.Sub(started) < time.Duration(pr.InitialDelaySeconds)*time.Second {
			return false
		}
		period := time.Duration(max(pr.PeriodSeconds, 1)) * time.Second
		last, ok := p.last[kind]
		return !ok || now.Sub(last) >= period
	}
	// run runs one probe and counts its result; it reports whether the success or the
	// failure threshold was reached.
	run := func(kind probeKind, pr *corev1.Probe) (passed, failed bool) {
		res, out := w.probe(ctx, pr, s.Id, podIP)
		p.last[kind] = w.k.cfg.Clock.Now()
		switch res {
		case probeFailure:
			w.probeEvent(pod, c.Name, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", kind, out))
			p.failures[kind]++
			p.successes[kind] = 0
			return false, p.failures[kind] >= max(pr.FailureThreshold, 1)
		case probeWarning:
			w.probeEvent(pod, c.Name, corev1.EventTypeWarning, "ProbeWarning", fmt.Sprintf("%s probe warning: %s", kind, out))
		}
		p.successes[kind]++
		p.failures[kind] = 0
		threshold := max(pr.SuccessThreshold, 1)
		if kind != readiness {
			threshold = 1 // liveness and startup probes must have successThreshold 1
		}
		return p.successes[kind] >= threshold, false
	}
	if !p.started {
		if !due(startup, c.StartupProbe) {
			return false
		}
		passed, failed := run(startup, c.StartupProbe)
		if failed {
			w.probeKill(ctx, p, pod, c, s.Id, podIP, startup, c.StartupProbe)
			return true
		}
		if !passed {
			return false
		}
		p.started = true // liveness and readiness run from now on
	}
	if due(liveness, c.LivenessProbe) {
		if _, failed := run(liveness, c.LivenessProbe); failed {
			w.probeKill(ctx, p, pod, c, s.Id, podIP, liveness, c.LivenessProbe)
			return true
		}
	}
	if due(readiness, c.ReadinessProbe) {
		passed, failed := run(readiness, c.ReadinessProbe)
		if passed {
			p.ready = true
		}
		if failed {
			p.ready = false
		}
	}
	return false
}

// probeKill stops a container whose liveness or startup probe failed: the Killing event
// the kubelet records, then, within the probe's terminationGracePeriodSeconds when set, else
// the pod's, the container's preStop hook and the stop signal. The pod's restartPolicy
// decides what comes next.
func (w *podWorker) probeKill(ctx context.Context, p *containerProbes, pod *corev1.Pod, c *corev1.Container, id, podIP string, kind probeKind, pr *corev1.Probe) {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pr.TerminationGracePeriodSeconds != nil {
		grace = *pr.TerminationGracePeriodSeconds
	}
	msg := fmt.Sprintf("Container %s failed %s probe, will be restarted", c.Name, strings.ToLower(string(kind)))
	w.k.logf("pod %s/%s: %s (grace period %ds)", pod.Namespace, pod.Name, msg, grace)
	w.probeEvent(pod, c.Name, corev1.EventTypeNormal, "Killing", msg)
	ctr := &runtimeapi.Container{Id: id, State: runtimeapi.ContainerState_CONTAINER_RUNNING, Labels: map[string]string{LabelContainerName: c.Name}}
	w.stopContainer(ctx, pod, ctr, podIP, time.Now().Add(time.Duration(max(grace, 0))*time.Second), nil)
	delete(w.probes, id)
}

// probeEvent records an event on the pod's container; the recorder's correlator turns the same
// event again (type, reason, message) into a bumped count and lastTimestamp.
func (w *podWorker) probeEvent(pod *corev1.Pod, container, typ, reason, message string) {
	w.k.eventf(pod, container, typ, reason, "%s", message)
}

// probe runs one probe within its timeoutSeconds and reports the result and the output
// the kubelet puts in its events.
func (w *podWorker) probe(ctx context.Context, pr *corev1.Probe, id, podIP string) (probeResult, string) {
	timeout := time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case pr.Exec != nil:
		stdout, stderr, err := w.k.runtime.ExecSync(ctx, id, pr.Exec.Command, timeout)
		out := string(stdout) + string(stderr)
		if err != nil {
			if ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
				return probeFailure, fmt.Sprintf("command %q timed out", strings.Join(pr.Exec.Command, " "))
			}
			if out == "" {
				out = err.Error()
			}
			return probeFailure, out
		}
		return probeSuccess, out
	case pr.HTTPGet != nil:
		return w.httpProbe(ctx, pr.HTTPGet, podIP, timeout)
	case pr.TCPSocket != nil:
		host := pr.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		port, ok := w.port(pr.TCPSocket.Port, id)
		if !ok || host == "" {
			return probeFailure, fmt.Sprintf("invalid port %s", pr.TCPSocket.Port.String())
		}
		conn, err := w.k.probeDial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return probeFailure, err.Error()
		}
		_ = conn.Close()
		return probeSuccess, ""
	case pr.GRPC != nil:
		service := ""
		if pr.GRPC.Service != nil {
			service = *pr.GRPC.Service
		}
		return w.grpcProbe(ctx, net.JoinHostPort(podIP, strconv.Itoa(int(pr.GRPC.Port))), service, timeout)
	}
	return probeFailure, "missing probe handler"
}

// httpProbe GETs the probe's URL: 2xx is success; a redirect to the same host is
// followed, one elsewhere is not and counts as success with a warning; anything else
// (an error or another status) is a failure.
func (w *podWorker) httpProbe(ctx context.Context, g *corev1.HTTPGetAction, podIP string, timeout time.Duration) (probeResult, string) {
	host := g.Host
	if host == "" {
		host = podIP
	}
	port, ok := w.port(g.Port, "")
	if !ok || host == "" {
		return probeFailure, fmt.Sprintf("invalid port %s", g.Port.String())
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	u := httpGetURL(scheme, host, port, g.Path) // shared with httpGet hooks: keeps a query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return probeFailure, err.Error()
	}
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", probeUserAgent)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "*/*")
	}
	resp, err := w.k.probeHTTP.Do(req) // bounded by ctx's timeout
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return probeFailure, fmt.Sprintf("Get %q: context deadline exceeded (Client.Timeout exceeded while awaiting headers after %s)", u.String(), timeout)
		}
		return probeFailure, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	body := string(b)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return probeWarning, fmt.Sprintf("Probe terminated redirects, Response body: %v", body)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return probeSuccess, body
	}
	return probeFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

// grpcProbe asks addr's grpc.health.v1 Check for service: SERVING is success, any other
// answer or an error is a failure.
func (w *podWorker) grpcProbe(ctx context.Context, addr, service string, timeout time.Duration) (probeResult, string) {
	dial := w.k.probeDial
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent(probeUserAgent),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return dial(ctx, "tcp", a) }),
	)
	if err != nil {
		return probeFailure, fmt.Sprintf("error: failed to create a gRPC client for %q: %v", addr, err)
	}
	defer func() { _ = conn.Close() }()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(false))
	if err != nil {
		switch status.Code(err) {
		case codes.Unimplemented:
			return probeFailure, fmt.Sprintf("this server doesn't implement the grpc health protocol (grpc.health.v1.Health): %s", status.Convert(err).Message())
		case codes.DeadlineExceeded:
			return probeFailure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
		case codes.Unavailable:
			return probeFailure, fmt.Sprintf("timeout: failed to connect service %q within %v: %v", addr, timeout, err)
		}
		return probeFailure, fmt.Sprintf("error: health rpc probe failed: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return probeFailure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String())
	}
	return probeSuccess, ""
}

// port resolves a probe port (a number or a named container port).
func (w *podWorker) port(p intstr.IntOrString, _ string) (int, bool) {
	if p.Type == intstr.Int {
		return p.IntValue(), p.IntValue() > 0
	}
	for _, c := range w.currentPod().Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), true
			}
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, true
	}
	return 0, false
}

// maxRedirects is how many redirects a probe follows, as net/http's default.
const maxRedirects = 10

// newProbeClient is the HTTP client of httpGet probes and hooks: a new connection per probe,
// no proxy, redirects followed only to the same host (a redirect elsewhere is answered as
// is, and the probe reports it as a warning, as the kubelet does), and, for scheme HTTPS,
// no verification of the container's certificate — the kubelet "sends an HTTPS request
// skipping the certificate verification", as Kubernetes documents for probes (a webhook
// pod serving a certificate for its Service name must still become Ready).
func newProbeClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
		Transport: &http.Transport{
			DialContext: dial, DisableKeepAlives: true, Proxy: nil,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as the kubelet's
		},
	}
}
