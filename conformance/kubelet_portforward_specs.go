package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

const srcPortForward = "Kubernetes: Use Port Forwarding to Access Applications in a Cluster (kubectl port-forward: pods/NAME/portforward, SPDY/3.1 portforward.k8s.io, or tunnelled through a WebSocket since 1.30)"

func kubeletPortForwardSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.portforward.spdy",
			"pods/NAME/portforward over SPDY MUST carry each TCP connection to the named port of the pod (a local client reaches the pod's server and gets its answer), and more than one connection in turn",
			srcPortForward), func(ctx context.Context, g gomega.Gomega, e *kubeletEnv) { specPortForward(ctx, g, e, "spdy") }},
		{kubeletBehavior("kubelet.portforward.websocket",
			"pods/NAME/portforward asked as a WebSocket carrying SPDY (subprotocol SPDY/3.1+portforward.k8s.io, what kubectl 1.30+ sends first) MUST carry each TCP connection to the named port of the pod, and more than one connection in turn",
			srcPortForward), func(ctx context.Context, g gomega.Gomega, e *kubeletEnv) { specPortForward(ctx, g, e, "websocket") }},
	}
}

// specPortForward forwards a local port to port 8080 of a serve-hostname pod, as kubectl
// port-forward does, and fetches the pod's name through it twice.
func specPortForward(ctx context.Context, g gomega.Gomega, e *kubeletEnv, protocol string) {
	name := "pf-" + protocol
	// Ready (its server listens) before anything is forwarded to it.
	p := e.testPod(name, "serve-hostname", "--port", "8080")
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1,
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, name, "Ready", startTimeout, func(p *corev1.Pod) bool {
		return isRunning(p) && podCondition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	u := e.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(e.ns).Name(name).SubResource("portforward").URL()
	var dialer httpstream.Dialer
	switch protocol {
	case "spdy":
		rt, upgrader, err := spdy.RoundTripperFor(e.k.Config)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		dialer = spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	default:
		d, err := portforward.NewSPDYOverWebsocketDialer(u, e.k.Config)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		dialer = d
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan struct{})
	var errOut bytes.Buffer
	fw, err := portforward.NewOnAddressesWithContext(fctx, dialer, []string{"127.0.0.1"}, []string{"0:8080"}, ready, io.Discard, &errOut)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		g.Expect(err).NotTo(gomega.HaveOccurred(), "port-forward over %s ended before it was ready (%s)", protocol, errOut.String())
	case <-time.After(30 * time.Second):
		g.Expect(false).To(gomega.BeTrue(), "port-forward over %s not ready within 30s (%s)", protocol, errOut.String())
	}
	ports, err := fw.GetPorts()
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(ports).To(gomega.HaveLen(1))
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for i := 1; i <= 2; i++ {
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
		g.Expect(err).NotTo(gomega.HaveOccurred(), "connection %d through the forwarded port (%s)", i, errOut.String())
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		g.Expect(strings.TrimSpace(string(body))).To(gomega.Equal(name), "connection %d through the forwarded port reaches the pod's server", i)
	}
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}
