package kubelet

import (
	"context"
	"crypto/tls"

	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// probeKind names the three probes.
type probeKind string

const (
	liveness  probeKind = "liveness"
	readiness probeKind = "readiness"
	startup   probeKind = "startup"
)

// containerProbes is the probe state of one running container.
type containerProbes struct {
	started, ready bool
	last           map[probeKind]time.Time
	successes      map[probeKind]int32
	failures       map[probeKind]int32
}

// runProbes runs the container's due probes; it returns true when a failed
// liveness or startup probe made it kill the container.
func (w *podWorker) runProbes(ctx context.Context, pod *corev1.Pod, c *corev1.Container, s *runtimeapi.ContainerStatus, podIP string) bool {
	p := w.probes[s.Id]
	if p == nil {
		p = &containerProbes{last: map[probeKind]time.Time{}, successes: map[probeKind]int32{}, failures: map[probeKind]int32{}}
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
	record := func(kind probeKind, pr *corev1.Probe, ok bool) (passed, failed bool) {
		p.last[kind] = now
		if ok {
			p.successes[kind]++
			p.failures[kind] = 0
			return p.successes[kind] >= max(pr.SuccessThreshold, 1), false
		}
		p.failures[kind]++
		p.successes[kind] = 0
		return false, p.failures[kind] >= max(pr.FailureThreshold, 1)
	}
	if c.StartupProbe != nil && !p.started {
		if !due(startup, c.StartupProbe) {
			return false
		}
		passed, failed := record(startup, c.StartupProbe, w.probe(ctx, c.StartupProbe, s.Id, podIP))
		if failed {
			w.kill(ctx, pod, s.Id, "startup")
			return true
		}
		if !passed {
			return false
		}
		p.started = true
	}
	p.started = true
	if due(liveness, c.LivenessProbe) {
		_, failed := record(liveness, c.LivenessProbe, w.probe(ctx, c.LivenessProbe, s.Id, podIP))
		if failed {
			w.kill(ctx, pod, s.Id, "liveness")
			return true
		}
	}
	if due(readiness, c.ReadinessProbe) {
		passed, failed := record(readiness, c.ReadinessProbe, w.probe(ctx, c.ReadinessProbe, s.Id, podIP))
		if passed {
			p.ready = true
		}
		if failed {
			p.ready = false
		}
	}
	return false
}

// kill stops a container whose liveness or startup probe failed, within the
// pod's grace period.
func (w *podWorker) kill(ctx context.Context, pod *corev1.Pod, id, why string) {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	w.k.logf("pod %s/%s: container %s failed its %s probe, killing it", pod.Namespace, pod.Name, id, why)
	_ = ignoreNotFound(w.k.runtime.StopContainer(ctx, id, grace))
	delete(w.probes, id)
}

// probe runs one probe and reports success.
func (w *podWorker) probe(ctx context.Context, pr *corev1.Probe, id, podIP string) bool {
	timeout := time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case pr.Exec != nil:
		_, _, err := w.k.runtime.ExecSync(ctx, id, pr.Exec.Command, timeout)
		return err == nil
	case pr.HTTPGet != nil:
		host := pr.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		port, ok := w.port(pr.HTTPGet.Port, id)
		if !ok || host == "" {
			return false
		}
		scheme := "http"
		if pr.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		u := httpGetURL(scheme, host, port, pr.HTTPGet.Path) // keeps a query in the path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false
		}
		for _, h := range pr.HTTPGet.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		resp, err := w.k.probeHTTP.Do(req) // bounded by ctx's timeout
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode < 400
	case pr.TCPSocket != nil:
		host := pr.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		port, ok := w.port(pr.TCPSocket.Port, id)
		if !ok || host == "" {
			return false
		}
		conn, err := w.k.probeDial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		_ = conn.Close()
		return true
	case pr.GRPC != nil:
		return false
	}
	return false
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

// newProbeClient is the HTTP client of httpGet probes and hooks: a new connection per probe,
// no proxy, redirects not followed, and, for scheme HTTPS, no verification of the
// container's certificate — the kubelet "sends an HTTPS request skipping the certificate
// verification", as Kubernetes documents for probes (a webhook pod serving a certificate for
// its Service name must still become Ready).
func newProbeClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DialContext: dial, DisableKeepAlives: true, Proxy: nil,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as the kubelet's
		},
	}
}
