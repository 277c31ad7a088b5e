package kubelet

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// TestProbeClientSkipsCertificateVerification: an HTTPS probe of a container serving a
// certificate no one on the node trusts succeeds, as the kubelet's probes do.
func TestProbeClientSkipsCertificateVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	c := newProbeClient((&net.Dialer{}).DialContext)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/readyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("an HTTPS probe of a self-signed server must succeed: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// probeWorker is a pod worker with a kubelet that can run HTTP, TCP and gRPC probes on
// loopback.
func probeWorker() *podWorker {
	dial := (&net.Dialer{}).DialContext
	k := &Kubelet{probeHTTP: newProbeClient(dial), probeDial: dial}
	return &podWorker{k: k, pod: &corev1.Pod{}}
}

// TestHTTPProbeRedirects: a redirect to the same host is followed (and its answer counts), one
// to another host is not and is a success with a warning naming the redirect, as the kubelet's
// prober does.
func TestHTTPProbeRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, r.URL.Query().Get("loc"), http.StatusFound)
		case "/healthz":
			http.Error(w, "sick", http.StatusInternalServerError)
		case "/ok":
			if r.Header.Get("X-Probe") != "yes" || r.UserAgent() != probeUserAgent {
				http.Error(w, "headers", http.StatusBadRequest)
				return
			}
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	w := probeWorker()
	get := func(path string) (probeResult, string) {
		return w.httpProbe(context.Background(), &corev1.HTTPGetAction{Path: path, Port: intstr.Parse(port),
			HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "yes"}}}, host, time.Second)
	}
	if res, out := get("/ok"); res != probeSuccess {
		t.Fatalf("/ok: %v %q", res, out)
	}
	if res, out := get("/redirect?loc=" + url.QueryEscape("/healthz")); res != probeFailure || out != "HTTP probe failed with statuscode: 500" {
		t.Fatalf("a local redirect to a failing path must be followed: %v %q", res, out)
	}
	res, out := get("/redirect?loc=" + url.QueryEscape("http://0.0.0.0/"))
	if res != probeWarning || !strings.HasPrefix(out, `Probe terminated redirects, Response body: <a href="http://0.0.0.0/">Found</a>.`) {
		t.Fatalf("a non-local redirect is a warning: %v %q", res, out)
	}
}

// TestGRPCProbe: SERVING is success; NOT_SERVING, an unknown service and a closed port are
// failures.
func TestGRPCProbe(t *testing.T) {
	srv := behavior.NewServer(behavior.Behavior{Kind: behavior.Serve}, "h", time.Now(), nil)
	g := behavior.NewGRPCHealthServer(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(ln) }()
	defer g.Stop()
	w := probeWorker()
	addr := ln.Addr().String()
	ctx := context.Background()
	if res, out := w.grpcProbe(ctx, addr, "", time.Second); res != probeSuccess {
		t.Fatalf("SERVING: %v %q", res, out)
	}
	if res, out := w.grpcProbe(ctx, addr, "nope", time.Second); res != probeFailure {
		t.Fatalf("unknown service: %v %q", res, out)
	}
	srv.Fail()
	if res, out := w.grpcProbe(ctx, addr, behavior.GRPCService, time.Second); res != probeFailure || out != `service unhealthy (responded with "NOT_SERVING")` {
		t.Fatalf("NOT_SERVING: %v %q", res, out)
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	_ = closed.Close()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if res, out := w.grpcProbe(cctx, closedAddr, "", time.Second); res != probeFailure {
		t.Fatalf("closed port: %v %q", res, out)
	}
}
