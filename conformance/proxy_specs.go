package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Sources of the proxy behaviours.
const (
	srcSeedProxy       = "seed: \"kube-proxy programs the node's kernel so that traffic sent to the Service's virtual IP address gets forwarded to one of the backing Pods\""
	srcSeedProxyRules  = "seed: \"kube-proxy maintains the networking rules on each node that make Services work\""
	srcProxyCatchUp    = "seed: \"If any component is temporarily unavailable, the others continue working and catch up when it returns\""
	srcProxyConditions = "Kubernetes: EndpointSlices, conditions (kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions)"
	srcVirtualIPs      = "Kubernetes: Virtual IPs and Service Proxies (kubernetes.io/docs/reference/networking/virtual-ips)"
)

// proxyBehavior builds one proxy behaviour; every proxy spec needs root on the node (network
// namespaces, kernel rules).
func proxyBehavior(id, must, source string, needs ...Capability) Behavior {
	return Behavior{ID: id, Component: "proxy", Must: must, Source: source, Labels: []string{"NeedsRoot"}, Needs: needs}
}

func proxySpecs() []spec[*proxyEnv] {
	return []spec[*proxyEnv]{
		{proxyBehavior("proxy.clusterip.ready-backends", "connections from a pod to a Service's ClusterIP MUST be answered only by the Service's ready pods, and every ready pod MUST get some of them", srcSeedProxy), specProxyReadyBackends},
		{proxyBehavior("proxy.clusterip.not-ready", "a pod whose readiness probe starts failing MUST receive no new connections through the Service", srcProxyConditions), specProxyNotReady},
		{proxyBehavior("proxy.clusterip.deleted-endpoint", "a deleted pod MUST receive no new connections through the Service", srcSeedProxyRules), specProxyDeletedEndpoint},
		{proxyBehavior("proxy.clusterip.no-endpoints", "a connection to a Service with no ready pods MUST be refused at once, not left to time out", srcVirtualIPs), specProxyNoEndpoints},
		{proxyBehavior("proxy.clusterip.hairpin", "a pod MUST reach a Service whose only ready pod is itself, through the ClusterIP and through a NodePort (hairpin)", srcVirtualIPs), specProxyHairpin},
		{proxyBehavior("proxy.clusterip.port-mapping", "a connection to ClusterIP:port MUST reach the pod on the Service's targetPort, not on the Service port", srcVirtualIPs), specProxyPortMapping},
		{proxyBehavior("proxy.nodeport.node-address", "a connection to a node address on a Service's NodePort MUST be answered by the Service's ready pods", srcVirtualIPs), specProxyNodePort},
		{proxyBehavior("proxy.nodeport.external-local", "with externalTrafficPolicy Local, connections to a NodePort MUST go only to the ready endpoints on that node and keep the client's source address, while the ClusterIP MUST still use every ready endpoint", srcVirtualIPs), specProxyExternalLocal},
		{proxyBehavior("proxy.affinity.client-ip", "with sessionAffinity ClientIP, every connection from one client MUST go to the same pod", srcVirtualIPs), specProxyAffinity},
		{proxyBehavior("proxy.restart.catch-up", "a proxy that was down MUST, when it returns, apply the Service and pod changes made meanwhile", srcProxyCatchUp, ProxyRestart), specProxyCatchUp},
	}
}

const (
	proxyBackendPort = 8080
	proxyPortName    = "http"
	proxyClientPod   = "client"
)

// backend describes one backend pod a spec starts.
type backend struct {
	name string
	// neverReady: the pod's readiness probe never passes.
	neverReady bool
}

// createClient creates the spec's client pod; it does not wait for it.
func (e *proxyEnv) createClient(ctx context.Context) error {
	pod := e.podSpec(proxyClientPod, nil, "pause")
	if _, err := e.client.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the client pod: %w", err)
	}
	return nil
}

// podSpec is a pod of the test image on the node under test running /ckimage args...
func (e *proxyEnv) podSpec(name string, labels map[string]string, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:                      e.node.Node,
			TerminationGracePeriodSeconds: ptr.To(int64(2)),
			Containers: []corev1.Container{{
				Name: "c", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"/ckimage"}, Args: args,
			}},
		},
	}
}

// backends creates one serve-hostname pod per entry, labelled app=app, with a readiness
// probe on /readyz every second, and waits until the ready ones are Ready and the others
// Running. A pod's hostname (what it answers) is its name.
func (e *proxyEnv) backends(ctx context.Context, g gomega.Gomega, app string, bs ...backend) []string {
	var names []string
	for _, b := range bs {
		args := []string{"serve-hostname", "--port", strconv.Itoa(proxyBackendPort)}
		if b.neverReady {
			args = append(args, "--ready-after", "24h")
		}
		pod := e.podSpec(b.name, map[string]string{"app": app}, args...)
		c := &pod.Spec.Containers[0]
		c.Ports = []corev1.ContainerPort{{Name: proxyPortName, ContainerPort: proxyBackendPort, Protocol: corev1.ProtocolTCP}}
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString(proxyPortName)}},
			PeriodSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: 1,
		}
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{})
		g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating backend pod %s", b.name)
		names = append(names, b.name)
	}
	for _, b := range bs {
		e.waitPod(ctx, g, b.name, !b.neverReady)
	}
	// Every spec starts backends before it sends anything: the client pod (no probe, so ready
	// once running) is waited for here too.
	e.waitPod(ctx, g, proxyClientPod, true)
	return names
}

// waitPod waits until the pod runs and its Ready condition is ready (true or false).
func (e *proxyEnv) waitPod(ctx context.Context, g gomega.Gomega, name string, ready bool) {
	var last string
	g.EventuallyWithOffset(2, func() bool {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false
		}
		isReady := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				isReady = c.Status == corev1.ConditionTrue
			}
		}
		last = fmt.Sprintf("phase %s, ready %v, pod IP %q", p.Status.Phase, isReady, p.Status.PodIP)
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && isReady == ready
	}).WithContext(ctx).WithTimeout(e.pods).WithPolling(250*time.Millisecond).Should(gomega.BeTrue(),
		func() string {
			return fmt.Sprintf("pod %s did not become running with ready=%v (the kubelet's job): %s", name, ready, last)
		})
}

// deletePod deletes a pod and waits until it is gone from the API.
func (e *proxyEnv) deletePod(ctx context.Context, g gomega.Gomega, name string) {
	err := e.client.CoreV1().Pods(e.ns).Delete(ctx, name, metav1.DeleteOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "deleting pod %s", name)
	g.EventuallyWithOffset(1, func() bool {
		_, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithContext(ctx).WithTimeout(e.pods).WithPolling(250*time.Millisecond).Should(gomega.BeTrue(),
		"pod %s was not removed after its deletion (the kubelet's job)", name)
}

// service creates a Service selecting app=name with one TCP port named "http" from port to
// targetPort.
func (e *proxyEnv) service(ctx context.Context, g gomega.Gomega, name string, typ corev1.ServiceType, port int32, target intstr.IntOrString, affinity bool) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{
			Name: proxyPortName, Port: port, Protocol: corev1.ProtocolTCP, TargetPort: target,
		}}},
	}
	if affinity {
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	}
	out, err := e.client.CoreV1().Services(e.ns).Create(ctx, s, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating Service %s", name)
	g.ExpectWithOffset(1, out.Spec.ClusterIP).NotTo(gomega.BeEmpty(), "the API server must allocate a ClusterIP")
	return out
}

func proxyClusterAddr(svc *corev1.Service) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(svc.Spec.ClusterIP), uint16(svc.Spec.Ports[0].Port))
}

// fetch sends n GETs to addr, each on a new connection, from inside pod (pods/exec of the
// test image's fetch) and returns one line per request: the body, or "error: …".
func (e *proxyEnv) fetch(ctx context.Context, pod string, addr netip.AddrPort, n int) []string {
	return e.fetchPath(ctx, pod, addr, "/", n)
}

// fetchPath is fetch of path.
func (e *proxyEnv) fetchPath(ctx context.Context, pod string, addr netip.AddrPort, path string, n int) []string {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n)*3*time.Second+10*time.Second)
	defer cancel()
	out, stderr, code, err := podExec(ctx, e.node.Config, e.client, e.ns, pod, "c", "kubectl", nil,
		"/ckimage", "fetch", "--count", strconv.Itoa(n), "--timeout", "2s", "http://"+addr.String()+path)
	if err != nil || (code != 0 && code != 1) {
		return []string{fmt.Sprintf("error: exec in pod %s: exit %d, %v %s", pod, code, err, strings.TrimSpace(stderr))}
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// sample counts the answers of n requests from the client pod.
func (e *proxyEnv) sample(ctx context.Context, addr netip.AddrPort, n int) map[string]int {
	return e.sampleFrom(ctx, proxyClientPod, addr, n)
}

// sampleFrom counts the answers of n requests from pod.
func (e *proxyEnv) sampleFrom(ctx context.Context, pod string, addr netip.AddrPort, n int) map[string]int {
	out := map[string]int{}
	for _, l := range e.fetch(ctx, pod, addr, n) {
		out[l]++
	}
	return out
}

func describeAnswers(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// answersOnlyFrom reports whether every answer came from want, and all of want answered when all is set.
func answersOnlyFrom(m map[string]int, want []string, all bool) bool {
	for k := range m {
		if !slices.Contains(want, k) {
			return false
		}
	}
	if all {
		for _, w := range want {
			if m[w] == 0 {
				return false
			}
		}
	}
	return true
}

// settle waits until a sample from the client pod satisfies answersOnlyFrom, then takes a
// second, strict sample that must too: a proxy that only sometimes gets it right fails.
func (e *proxyEnv) settle(ctx context.Context, g gomega.Gomega, addr netip.AddrPort, n int, want []string, all bool, what string) {
	e.settleFrom(ctx, g, proxyClientPod, addr, n, want, all, what)
}

// settleFrom is settle with the requests sent from pod.
func (e *proxyEnv) settleFrom(ctx context.Context, g gomega.Gomega, pod string, addr netip.AddrPort, n int, want []string, all bool, what string) {
	var last map[string]int
	g.EventuallyWithOffset(2, func() bool {
		last = e.sampleFrom(ctx, pod, addr, n)
		return answersOnlyFrom(last, want, all)
	}).WithContext(ctx).WithTimeout(e.converge).WithPolling(200*time.Millisecond).Should(gomega.BeTrue(),
		func() string {
			return fmt.Sprintf("%s: %s answered %s; want only %v", what, addr, describeAnswers(last), want)
		})
	last = e.sampleFrom(ctx, pod, addr, n)
	g.ExpectWithOffset(2, answersOnlyFrom(last, want, all)).To(gomega.BeTrue(),
		"%s (second sample): %s answered %s; want only %v", what, addr, describeAnswers(last), want)
}

// targetHTTP is the targetPort naming the backends' container port.
func targetHTTP() intstr.IntOrString { return intstr.FromString(proxyPortName) }

func specProxyReadyBackends(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	names := e.backends(ctx, g, "web", backend{name: "web-0"}, backend{name: "web-1"}, backend{name: "web-2"}, backend{name: "web-never-ready", neverReady: true})
	svc := e.service(ctx, g, "web", "", 80, targetHTTP(), false)
	e.settle(ctx, g, proxyClusterAddr(svc), 40, names[:3], true, "3 ready pods and a never-ready one")
}

func specProxyNotReady(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	names := e.backends(ctx, g, "web", backend{name: "web-0"}, backend{name: "web-1"})
	svc := e.service(ctx, g, "web", "", 80, targetHTTP(), false)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names, true, "2 ready pods")
	// web-1's /readyz answers 503 from now on (it keeps serving /).
	_, stderr, code, err := podExec(ctx, e.node.Config, e.client, e.ns, "web-1", "c", "kubectl", nil, "/ckimage", "post", "/unready")
	g.Expect(err).NotTo(gomega.HaveOccurred(), "exec in web-1")
	g.Expect(code).To(gomega.BeZero(), "POST /unready in web-1: %s", stderr)
	e.waitPod(ctx, g, "web-1", false)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names[:1], true, "after web-1's readiness probe started failing (it still serves)")
}

func specProxyDeletedEndpoint(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	names := e.backends(ctx, g, "web", backend{name: "web-0"}, backend{name: "web-1"})
	svc := e.service(ctx, g, "web", "", 80, targetHTTP(), false)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names, true, "2 ready pods")
	e.deletePod(ctx, g, "web-1")
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names[:1], true, "after web-1 was deleted")
}

func specProxyNoEndpoints(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	names := e.backends(ctx, g, "web", backend{name: "web-0"})
	svc := e.service(ctx, g, "web", "", 80, targetHTTP(), false)
	addr := proxyClusterAddr(svc)
	e.settle(ctx, g, addr, 5, names, true, "1 ready pod")
	e.deletePod(ctx, g, "web-0")
	// Each request waits at most 2 s: "connection refused" proves the refusal came at once; a
	// dropped SYN shows as a timeout instead.
	allRefused := func(lines []string) error {
		for _, l := range lines {
			if !strings.HasPrefix(l, "error: ") || !strings.Contains(l, "connection refused") {
				return fmt.Errorf("a connection to %s with no pods behind it got %q, want it refused at once", addr, l)
			}
		}
		return nil
	}
	g.Eventually(func() error { return allRefused(e.fetch(ctx, proxyClientPod, addr, 3)) }).
		WithContext(ctx).WithTimeout(e.converge).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
	g.Expect(allRefused(e.fetch(ctx, proxyClientPod, addr, 5))).To(gomega.Succeed(), "second sample")
}

func specProxyHairpin(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	g.Expect(e.node.NodeIPs).NotTo(gomega.BeEmpty(), "the harness must name the node's addresses")
	names := e.backends(ctx, g, "web", backend{name: "web-0"})
	svc := e.service(ctx, g, "web", corev1.ServiceTypeNodePort, 80, targetHTTP(), false)
	e.settle(ctx, g, proxyClusterAddr(svc), 5, names, true, "1 ready pod, from the client")
	e.settleFrom(ctx, g, "web-0", proxyClusterAddr(svc), 5, names, true, "the ClusterIP from its only pod")
	np := netip.AddrPortFrom(e.node.NodeIPs[0], uint16(svc.Spec.Ports[0].NodePort))
	e.settleFrom(ctx, g, "web-0", np, 5, names, true, "the NodePort from the Service's only pod")
}

func specProxyPortMapping(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	names := e.backends(ctx, g, "web", backend{name: "web-0"}, backend{name: "web-1"})
	svc := e.service(ctx, g, "web", "", 5000, intstr.FromInt32(proxyBackendPort), false)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names, true, "Service port 5000 to targetPort 8080")
}

func specProxyNodePort(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	g.Expect(e.node.NodeIPs).NotTo(gomega.BeEmpty(), "the harness must name the node's addresses")
	names := e.backends(ctx, g, "web", backend{name: "web-0"}, backend{name: "web-1"}, backend{name: "web-never-ready", neverReady: true})
	svc := e.service(ctx, g, "web", corev1.ServiceTypeNodePort, 80, targetHTTP(), false)
	np := svc.Spec.Ports[0].NodePort
	g.Expect(np).NotTo(gomega.BeZero(), "the API server must allocate a NodePort")
	e.settle(ctx, g, netip.AddrPortFrom(e.node.NodeIPs[0], uint16(np)), 30, names[:2], true, "NodePort with 2 ready pods and a never-ready one")
}

func specProxyExternalLocal(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	g.Expect(e.node.NodeIPs).NotTo(gomega.BeEmpty(), "the harness must name the node's addresses")
	// Both pods run on this node, but the Service has no selector and its EndpointSlice, written
	// here, places web-1 on another node: a proxy knows where an endpoint runs only from the
	// slice, so web-1 must get no NodePort connection.
	names := e.backends(ctx, g, "web-pods", backend{name: "web-0"}, backend{name: "web-1"})
	ips := map[string]string{}
	for _, n := range append(names, proxyClientPod) {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, n, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(p.Status.PodIP).NotTo(gomega.BeEmpty(), "pod %s has no IP", n)
		ips[n] = p.Status.PodIP
	}
	svc, err := e.client.CoreV1().Services(e.ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Ports: []corev1.ServicePort{{Name: proxyPortName, Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(proxyBackendPort)}}},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "creating the NodePort Service with externalTrafficPolicy Local")
	elsewhere := e.node.Node + "-elsewhere"
	_, err = e.client.DiscoveryV1().EndpointSlices(e.ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-by-hand", Labels: map[string]string{
			discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "conformance.clusterkit.io",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(proxyPortName), Port: ptr.To(int32(proxyBackendPort)), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{ips["web-0"]}, NodeName: ptr.To(e.node.Node), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{ips["web-1"]}, NodeName: ptr.To(elsewhere), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
		},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "writing the Service's EndpointSlice")
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names, true, "the ClusterIP, endpoints on this node and on "+elsewhere)
	np := netip.AddrPortFrom(e.node.NodeIPs[0], uint16(svc.Spec.Ports[0].NodePort))
	e.settle(ctx, g, np, 20, names[:1], true, "the NodePort with externalTrafficPolicy Local (web-1 is on "+elsewhere+")")
	for _, l := range e.fetchPath(ctx, proxyClientPod, np, "/clientip", 3) {
		g.Expect(l).To(gomega.Equal(ips[proxyClientPod]), "web-0 saw the NodePort connection come from %s, want the client pod's own address %s (not masqueraded)", l, ips[proxyClientPod])
	}
}

func specProxyAffinity(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	names := e.backends(ctx, g, "web", backend{name: "web-0"}, backend{name: "web-1"}, backend{name: "web-2"})
	svc := e.service(ctx, g, "web", "", 80, targetHTTP(), true)
	e.settle(ctx, g, proxyClusterAddr(svc), 3, names, false, "3 ready pods")
	got := e.sample(ctx, proxyClusterAddr(svc), 20)
	g.Expect(got).To(gomega.HaveLen(1), "ClientIP affinity: one client reached %s", describeAnswers(got))
}

func specProxyCatchUp(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	namesA := e.backends(ctx, g, "web-a", backend{name: "web-a-0"}, backend{name: "web-a-1"})
	a := e.service(ctx, g, "web-a", "", 80, targetHTTP(), false)
	e.settle(ctx, g, proxyClusterAddr(a), 20, namesA, true, "web-a with 2 ready pods")
	g.Expect(e.node.StopProxy(ctx)).To(gomega.Succeed(), "stopping the proxy")
	e.deletePod(ctx, g, "web-a-1")
	namesB := e.backends(ctx, g, "web-b", backend{name: "web-b-0"})
	b := e.service(ctx, g, "web-b", "", 80, targetHTTP(), false)
	g.Expect(e.node.StartProxy(ctx)).To(gomega.Succeed(), "starting the proxy again")
	e.settle(ctx, g, proxyClusterAddr(a), 20, namesA[:1], true, "web-a after a pod was deleted while the proxy was down")
	e.settle(ctx, g, proxyClusterAddr(b), 5, namesB, true, "web-b created while the proxy was down")
}
