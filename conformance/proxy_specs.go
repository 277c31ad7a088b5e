package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"syscall"
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

// proxyBehavior builds one proxy behaviour; every proxy spec needs root (network namespaces).
func proxyBehavior(id, must, source string, needs ...Capability) Behavior {
	return Behavior{ID: id, Component: "proxy", Must: must, Source: source, Labels: []string{"NeedsRoot"}, Needs: needs}
}

func proxySpecs() []spec[*proxyEnv] {
	return []spec[*proxyEnv]{
		{proxyBehavior("proxy.clusterip.ready-backends", "connections to a Service's ClusterIP MUST be answered only by its ready endpoints, and every ready endpoint MUST get some of them", srcSeedProxy), specProxyReadyBackends},
		{proxyBehavior("proxy.clusterip.not-ready", "an endpoint that stops being ready MUST receive no new connections", srcProxyConditions), specProxyNotReady},
		{proxyBehavior("proxy.clusterip.deleted-endpoint", "an endpoint removed from the EndpointSlices MUST receive no new connections", srcSeedProxyRules), specProxyDeletedEndpoint},
		{proxyBehavior("proxy.clusterip.no-endpoints", "a connection to a Service with no ready endpoints MUST be refused at once, not left to time out", srcVirtualIPs), specProxyNoEndpoints},
		{proxyBehavior("proxy.clusterip.port-mapping", "a connection to ClusterIP:port MUST reach the endpoint on the EndpointSlice's port (the Service's targetPort), not on the Service port", srcVirtualIPs), specProxyPortMapping},
		{proxyBehavior("proxy.nodeport.node-address", "a connection to a node address on a Service's NodePort MUST be answered by the Service's ready endpoints", srcVirtualIPs), specProxyNodePort},
		{proxyBehavior("proxy.affinity.client-ip", "with sessionAffinity ClientIP, every connection from one client MUST go to the same endpoint", srcVirtualIPs), specProxyAffinity},
		{proxyBehavior("proxy.restart.catch-up", "a proxy that was down MUST, when it returns, apply the Service and endpoint changes made meanwhile", srcProxyCatchUp, ProxyRestart), specProxyCatchUp},
	}
}

const (
	proxyBackendPort = 8080
	proxyPortName    = "web"
)

type proxyTestEndpoint struct {
	ip    netip.Addr
	ready bool
}

// backends starts n backends named prefix-0..n-1.
func (e *proxyEnv) backends(ctx context.Context, g gomega.Gomega, prefix string, n int) ([]netip.Addr, []string) {
	var ips []netip.Addr
	var names []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		ip, err := e.node.Backend(ctx, name, proxyBackendPort)
		g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "starting backend %s", name)
		ips = append(ips, ip)
		names = append(names, name)
	}
	return ips, names
}

// service creates a selector-less Service with one TCP port named "web" mapping port to the
// backends' port.
func (e *proxyEnv) service(ctx context.Context, g gomega.Gomega, name string, typ corev1.ServiceType, port int32, affinity bool) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{{
			Name: proxyPortName, Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(proxyBackendPort),
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

// endpoints writes the Service's one EndpointSlice.
func (e *proxyEnv) endpoints(ctx context.Context, g gomega.Gomega, svc string, eps ...proxyTestEndpoint) {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-ck", Labels: map[string]string{
			discoveryv1.LabelServiceName: svc,
			discoveryv1.LabelManagedBy:   "conformance.clusterkit.io",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(proxyPortName), Port: ptr.To(int32(proxyBackendPort)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, ep := range eps {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ep.ip.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ep.ready), Serving: ptr.To(ep.ready), Terminating: ptr.To(false)},
		})
	}
	sliceClient := e.client.DiscoveryV1().EndpointSlices(e.ns)
	cur, err := sliceClient.Get(ctx, slice.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = sliceClient.Create(ctx, slice, metav1.CreateOptions{})
	case err == nil:
		slice.ResourceVersion = cur.ResourceVersion
		_, err = sliceClient.Update(ctx, slice, metav1.UpdateOptions{})
	}
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "writing the EndpointSlice of %s", svc)
}

func readyEPs(ips ...netip.Addr) []proxyTestEndpoint {
	var out []proxyTestEndpoint
	for _, ip := range ips {
		out = append(out, proxyTestEndpoint{ip: ip, ready: true})
	}
	return out
}

func proxyClusterAddr(svc *corev1.Service) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(svc.Spec.ClusterIP), uint16(svc.Spec.Ports[0].Port))
}

// sample sends n requests and counts the answers; failures count under "error: ...".
func (e *proxyEnv) sample(ctx context.Context, addr netip.AddrPort, n int) map[string]int {
	out := map[string]int{}
	for i := 0; i < n; i++ {
		body, err := e.node.Get(ctx, addr)
		if err != nil {
			out["error: "+err.Error()]++
			continue
		}
		out[body]++
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

// settle waits until a sample satisfies answersOnlyFrom, then takes a second, strict sample that must
// too: a proxy that only sometimes gets it right fails.
func (e *proxyEnv) settle(ctx context.Context, g gomega.Gomega, addr netip.AddrPort, n int, want []string, all bool, what string) {
	var last map[string]int
	g.EventuallyWithOffset(1, func() bool {
		last = e.sample(ctx, addr, n)
		return answersOnlyFrom(last, want, all)
	}).WithContext(ctx).WithTimeout(e.converge).WithPolling(200*time.Millisecond).Should(gomega.BeTrue(),
		func() string {
			return fmt.Sprintf("%s: %s answered %s; want only %v", what, addr, describeAnswers(last), want)
		})
	last = e.sample(ctx, addr, n)
	g.ExpectWithOffset(1, answersOnlyFrom(last, want, all)).To(gomega.BeTrue(),
		"%s (second sample): %s answered %s; want only %v", what, addr, describeAnswers(last), want)
}

func specProxyReadyBackends(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	ips, names := e.backends(ctx, g, "ready", 4)
	svc := e.service(ctx, g, "web", "", 80, false)
	e.endpoints(ctx, g, "web", append(readyEPs(ips[:3]...), proxyTestEndpoint{ip: ips[3]})...)
	e.settle(ctx, g, proxyClusterAddr(svc), 40, names[:3], true, "3 ready endpoints and a not-ready one")
}

func specProxyNotReady(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	ips, names := e.backends(ctx, g, "nr", 2)
	svc := e.service(ctx, g, "web", "", 80, false)
	e.endpoints(ctx, g, "web", readyEPs(ips...)...)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names, true, "2 ready endpoints")
	e.endpoints(ctx, g, "web", proxyTestEndpoint{ip: ips[0], ready: true}, proxyTestEndpoint{ip: ips[1], ready: false})
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names[:1], true, "after the second endpoint became not ready")
}

func specProxyDeletedEndpoint(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	ips, names := e.backends(ctx, g, "del", 2)
	svc := e.service(ctx, g, "web", "", 80, false)
	e.endpoints(ctx, g, "web", readyEPs(ips...)...)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names, true, "2 ready endpoints")
	e.endpoints(ctx, g, "web", readyEPs(ips[0])...)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names[:1], true, "after the second endpoint was deleted (its backend still runs)")
}

func specProxyNoEndpoints(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	ips, names := e.backends(ctx, g, "zero", 1)
	svc := e.service(ctx, g, "web", "", 80, false)
	e.endpoints(ctx, g, "web", readyEPs(ips...)...)
	e.settle(ctx, g, proxyClusterAddr(svc), 5, names, true, "1 ready endpoint")
	e.endpoints(ctx, g, "web")
	addr := proxyClusterAddr(svc)
	refusedFast := func() error {
		start := time.Now()
		err := e.node.Connect(ctx, addr)
		took := time.Since(start)
		switch {
		case err == nil:
			return fmt.Errorf("connection to %s accepted with no endpoints", addr)
		case !errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("connection to %s failed with %v after %s, want connection refused", addr, err, took)
		case took > time.Second:
			return fmt.Errorf("connection to %s refused only after %s", addr, took)
		}
		return nil
	}
	g.Eventually(refusedFast).WithContext(ctx).WithTimeout(e.converge).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
	for i := 0; i < 5; i++ {
		g.Expect(refusedFast()).To(gomega.Succeed())
	}
}

func specProxyPortMapping(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	ips, names := e.backends(ctx, g, "map", 2)
	svc := e.service(ctx, g, "web", "", 5000, false)
	e.endpoints(ctx, g, "web", readyEPs(ips...)...)
	e.settle(ctx, g, proxyClusterAddr(svc), 20, names, true, "Service port 5000 to endpoint port 8080")
}

func specProxyNodePort(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	g.Expect(e.node.NodeIPs).NotTo(gomega.BeEmpty(), "the harness must name the node's addresses")
	ips, names := e.backends(ctx, g, "np", 3)
	svc := e.service(ctx, g, "web", corev1.ServiceTypeNodePort, 80, false)
	np := svc.Spec.Ports[0].NodePort
	g.Expect(np).NotTo(gomega.BeZero(), "the API server must allocate a NodePort")
	e.endpoints(ctx, g, "web", append(readyEPs(ips[:2]...), proxyTestEndpoint{ip: ips[2]})...)
	e.settle(ctx, g, netip.AddrPortFrom(e.node.NodeIPs[0], uint16(np)), 30, names[:2], true, "NodePort with 2 ready endpoints and a not-ready one")
}

func specProxyAffinity(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	ips, names := e.backends(ctx, g, "aff", 3)
	svc := e.service(ctx, g, "web", "", 80, true)
	e.endpoints(ctx, g, "web", readyEPs(ips...)...)
	e.settle(ctx, g, proxyClusterAddr(svc), 3, names, false, "3 ready endpoints")
	got := e.sample(ctx, proxyClusterAddr(svc), 20)
	g.Expect(got).To(gomega.HaveLen(1), "ClientIP affinity: one client reached %s", describeAnswers(got))
}

func specProxyCatchUp(ctx context.Context, g gomega.Gomega, e *proxyEnv) {
	ips, names := e.backends(ctx, g, "cu", 3)
	a := e.service(ctx, g, "web-a", "", 80, false)
	e.endpoints(ctx, g, "web-a", readyEPs(ips[0], ips[1])...)
	e.settle(ctx, g, proxyClusterAddr(a), 20, names[:2], true, "web-a with 2 ready endpoints")
	g.Expect(e.node.StopProxy(ctx)).To(gomega.Succeed(), "stopping the proxy")
	e.endpoints(ctx, g, "web-a", readyEPs(ips[0])...)
	b := e.service(ctx, g, "web-b", "", 80, false)
	e.endpoints(ctx, g, "web-b", readyEPs(ips[2])...)
	g.Expect(e.node.StartProxy(ctx)).To(gomega.Succeed(), "starting the proxy again")
	e.settle(ctx, g, proxyClusterAddr(a), 20, names[:1], true, "web-a after an endpoint was deleted while the proxy was down")
	e.settle(ctx, g, proxyClusterAddr(b), 5, names[2:], true, "web-b created while the proxy was down")
}
