package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Sources of the Service allocation behaviours.
const (
	srcServiceAlloc = "Kubernetes: Service ClusterIP allocation (kubernetes.io/docs/concepts/services-networking/cluster-ip-allocation)"
	srcServiceType  = "Kubernetes: Service type (kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types)"
	srcServiceValid = "Kubernetes Service API validation (pkg/apis/core/validation ValidateService)"
	// srcServiceDefaults: the v1 Service defaults.
	srcServiceDefaults = "Kubernetes Service API defaults (pkg/apis/core/v1 SetDefaults_Service: sessionAffinity None, its config dropped with None, a ClientIP timeout of 10800 s)"
	// srcKubernetesService: the API server's own Service (kubernetes.io/docs/tasks/run-application/access-api-from-pod).
	srcKubernetesService = "Kubernetes: the kubernetes Service kept by kube-apiserver (kubernetes.io/docs/tasks/run-application/access-api-from-pod; pkg/controlplane/controller/kubernetesservice, pkg/controlplane/reconcilers)"
)

// apiServiceSpecs are the API specs of Service address allocation and validation. They assume
// nothing about the cluster's service CIDR or node port range, so they run against any API
// server.
func apiServiceSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.service.cluster-ip-allocated", "a created ClusterIP Service MUST get a valid IPv4 spec.clusterIP, with spec.clusterIPs holding the same address", srcServiceAlloc), specServiceClusterIPAllocated},
		{api("api.service.cluster-ip-unique", "Services created concurrently MUST get pairwise different ClusterIPs, and a create requesting a ClusterIP in use MUST fail with 422 naming spec.clusterIPs", srcServiceAlloc), specServiceClusterIPUnique},
		{api("api.service.cluster-ip-released", "the ClusterIP of a deleted Service MUST become available again to a create that requests it", srcServiceAlloc), specServiceClusterIPReleased},
		{api("api.service.headless", "a Service created with clusterIP None MUST keep clusterIP None and get no address", srcServiceType), specServiceHeadless},
		{api("api.service.node-port", "a NodePort Service MUST get a node port on every port, and a create requesting a node port in use MUST fail with 422 naming spec.ports[0].nodePort until the owner is deleted", srcServiceType), specServiceNodePort},
		{api("api.service.type-change", "changing a Service from NodePort to ClusterIP MUST drop its node ports, from ClusterIP to NodePort MUST keep its ClusterIP, and changing an allocated ClusterIP MUST fail with 422", srcServiceType), specServiceTypeChange},
		{api("api.service.session-affinity-defaults", "a ClientIP Service without a timeout MUST get sessionAffinityConfig.clientIP.timeoutSeconds 10800, and an update back to sessionAffinity None that leaves the config in place MUST be accepted with sessionAffinityConfig dropped", srcServiceDefaults), specServiceSessionAffinityDefaults},
		{api("api.service.validation", "a Service with an invalid port, protocol, selector or session affinity MUST be rejected with 422 naming each field", srcServiceValid), specServiceValidation},
		{api("api.kubernetes-service.exists", "the Service kubernetes MUST exist in the default namespace, labelled component=apiserver and provider=kubernetes, without a selector, with one TCP port 443 named https and a ClusterIP that no other Service can be created with (422 naming spec.clusterIPs)", srcKubernetesService), specKubernetesServiceExists},
		{api("api.kubernetes-service.endpoints", "the Endpoints and the EndpointSlice named kubernetes in the default namespace MUST list the same one or more ready addresses with the port https equal to the Service's targetPort", srcKubernetesService), specKubernetesServiceEndpoints},
		{disruptive(api("api.kubernetes-service.recreated", "deleting the Endpoints, the EndpointSlice or the Service kubernetes of the default namespace MUST see it recreated by the API server, the Service with the same ClusterIP", srcKubernetesService)), specKubernetesServiceRecreated},
		{disruptive(api("api.kubernetes-service.endpoints-repaired", "overwriting the addresses of the Endpoints or the EndpointSlice kubernetes of the default namespace MUST see the API servers' addresses restored", srcKubernetesService)), specKubernetesServiceEndpointsRepaired},
	}
}

// disruptive labels a behaviour whose spec briefly breaks the cluster for others (on a live
// cluster, pods lose the kubernetes Service for up to the API server's reconcile interval).
func disruptive(b Behavior) Behavior {
	b.Labels = append(b.Labels, "Disruptive")
	return b
}

func plainService(name string, typ corev1.ServiceType, ports ...int32) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}},
	}
	for i, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", i), Port: p})
	}
	return s
}

func specServiceClusterIPAllocated(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	s, err := env.client.CoreV1().Services(env.ns).Create(ctx, plainService("alloc", "", 80), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	ip, err := netip.ParseAddr(s.Spec.ClusterIP)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "spec.clusterIP %q is not an IP", s.Spec.ClusterIP)
	g.Expect(ip.Is4() || ip.Is6()).To(gomega.BeTrue())
	g.Expect(s.Spec.ClusterIPs).To(gomega.HaveLen(1))
	g.Expect(s.Spec.ClusterIPs[0]).To(gomega.Equal(s.Spec.ClusterIP))
	got, err := env.client.CoreV1().Services(env.ns).Get(ctx, "alloc", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(got.Spec.ClusterIP).To(gomega.Equal(s.Spec.ClusterIP), "the allocated ClusterIP must be stored")
}

func specServiceClusterIPUnique(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	const n = 12
	var (
		mu   sync.Mutex
		ips  = map[string]string{}
		errs []error
		wg   sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := env.client.CoreV1().Services(env.ns).Create(ctx, plainService(fmt.Sprintf("u%d", i), "", 80), metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if prev, dup := ips[s.Spec.ClusterIP]; dup {
				errs = append(errs, fmt.Errorf("ClusterIP %s given to both %s and %s", s.Spec.ClusterIP, prev, s.Name))
			}
			ips[s.Spec.ClusterIP] = s.Name
		}()
	}
	wg.Wait()
	g.Expect(errs).To(gomega.BeEmpty())
	var taken string
	for ip := range ips {
		taken = ip
		break
	}
	dup := plainService("dup", "", 80)
	dup.Spec.ClusterIP = taken
	_, err := env.client.CoreV1().Services(env.ns).Create(ctx, dup, metav1.CreateOptions{})
	expectInvalidUnder(g, err, "create with a ClusterIP in use", "spec.clusterIPs")
}

func specServiceClusterIPReleased(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	svcs := env.client.CoreV1().Services(env.ns)
	s, err := svcs.Create(ctx, plainService("first", "", 80), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(svcs.Delete(ctx, "first", metav1.DeleteOptions{})).To(gomega.Succeed())
	again := plainService("second", "", 80)
	again.Spec.ClusterIP = s.Spec.ClusterIP
	g.Eventually(func() error {
		_, err := svcs.Create(ctx, again.DeepCopy(), metav1.CreateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(),
		"the ClusterIP %s of a deleted Service must be allocatable again", s.Spec.ClusterIP)
}

func specServiceSessionAffinityDefaults(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	svcs := env.client.CoreV1().Services(env.ns)
	s := plainService("affinity", "", 80)
	s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	created, err := svcs.Create(ctx, s, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(created.Spec.SessionAffinityConfig).NotTo(gomega.BeNil(), "a ClientIP Service gets a sessionAffinityConfig")
	g.Expect(created.Spec.SessionAffinityConfig.ClientIP).NotTo(gomega.BeNil())
	g.Expect(created.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds).To(gomega.HaveValue(gomega.BeEquivalentTo(10800)), "the default ClientIP timeout")
	// As the upstream e2e's sessionAffinity specs do: flip the affinity, leave the config.
	var updated *corev1.Service
	g.Eventually(func() error {
		cur, err := svcs.Get(ctx, "affinity", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.SessionAffinity = corev1.ServiceAffinityNone
		updated, err = svcs.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(10*time.Second).Should(gomega.Succeed(), "an update to sessionAffinity None that keeps the old config")
	g.Expect(updated.Spec.SessionAffinity).To(gomega.Equal(corev1.ServiceAffinityNone))
	g.Expect(updated.Spec.SessionAffinityConfig).To(gomega.BeNil(), "sessionAffinityConfig is dropped with sessionAffinity None")
}

func specServiceHeadless(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	h := plainService("headless", "", 80)
	h.Spec.ClusterIP = corev1.ClusterIPNone
	s, err := env.client.CoreV1().Services(env.ns).Create(ctx, h, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(s.Spec.ClusterIP).To(gomega.Equal(corev1.ClusterIPNone))
	g.Expect(s.Spec.ClusterIPs).To(gomega.Equal([]string{corev1.ClusterIPNone}))
}

func specServiceNodePort(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	svcs := env.client.CoreV1().Services(env.ns)
	a, err := svcs.Create(ctx, plainService("np-a", corev1.ServiceTypeNodePort, 80, 81), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(a.Spec.Ports[0].NodePort).NotTo(gomega.BeZero())
	g.Expect(a.Spec.Ports[1].NodePort).NotTo(gomega.BeZero())
	g.Expect(a.Spec.Ports[0].NodePort).NotTo(gomega.Equal(a.Spec.Ports[1].NodePort))
	b := plainService("np-b", corev1.ServiceTypeNodePort, 80)
	b.Spec.Ports[0].NodePort = a.Spec.Ports[0].NodePort
	_, err = svcs.Create(ctx, b.DeepCopy(), metav1.CreateOptions{})
	expectInvalid(g, err, "create with a node port in use", "spec.ports[0].nodePort")
	g.Expect(svcs.Delete(ctx, "np-a", metav1.DeleteOptions{})).To(gomega.Succeed())
	g.Eventually(func() error {
		_, err := svcs.Create(ctx, b.DeepCopy(), metav1.CreateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(),
		"the node port %d of a deleted Service must be allocatable again", a.Spec.Ports[0].NodePort)
}

func specServiceTypeChange(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	svcs := env.client.CoreV1().Services(env.ns)
	patch := func(body string) (*corev1.Service, error) {
		return svcs.Patch(ctx, "tc", types.MergePatchType, []byte(body), metav1.PatchOptions{})
	}
	s, err := svcs.Create(ctx, plainService("tc", "", 80), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	ip := s.Spec.ClusterIP
	s, err = patch(`{"spec":{"type":"NodePort"}}`)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(s.Spec.ClusterIP).To(gomega.Equal(ip), "ClusterIP -> NodePort must keep the ClusterIP")
	np := s.Spec.Ports[0].NodePort
	g.Expect(np).NotTo(gomega.BeZero(), "ClusterIP -> NodePort must allocate a node port")
	s, err = patch(`{"spec":{"type":"ClusterIP"}}`)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "NodePort -> ClusterIP with the node ports left as they were must be accepted")
	g.Expect(s.Spec.Ports[0].NodePort).To(gomega.BeZero(), "NodePort -> ClusterIP must drop the node port")
	g.Expect(s.Spec.ClusterIP).To(gomega.Equal(ip))
	// The dropped node port is free again.
	other := plainService("tc-other", corev1.ServiceTypeNodePort, 80)
	other.Spec.Ports[0].NodePort = np
	g.Eventually(func() error {
		_, err := svcs.Create(ctx, other.DeepCopy(), metav1.CreateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(),
		"the node port %d dropped by a type change must be allocatable again", np)
	next := nextAddr(ip)
	_, err = patch(fmt.Sprintf(`{"spec":{"clusterIP":%q,"clusterIPs":[%q]}}`, next, next))
	expectInvalidUnder(g, err, "changing an allocated ClusterIP", "spec.clusterIP")
}

func nextAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return a.Next().String()
}

func specServiceValidation(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	s := plainService("bad", "", 80, 81)
	s.Spec.Ports[0].Port = 70000
	s.Spec.Ports[1].Protocol = "ICMP"
	s.Spec.Selector = map[string]string{"app": "not a valid value!"}
	s.Spec.SessionAffinity = "Sticky"
	_, err := env.client.CoreV1().Services(env.ns).Create(ctx, s, metav1.CreateOptions{})
	expectInvalid(g, err, "an invalid Service", "spec.ports[0].port", "spec.ports[1].protocol", "spec.selector", "spec.sessionAffinity")
	_, err = env.client.CoreV1().Services(env.ns).Get(ctx, "bad", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "an invalid Service must not be stored: %v", err)
	noPorts := plainService("noports", "")
	_, err = env.client.CoreV1().Services(env.ns).Create(ctx, noPorts, metav1.CreateOptions{})
	expectInvalid(g, err, "a ClusterIP Service without ports", "spec.ports")
}

// kubernetesServiceTimeout bounds the wait for the kubernetes Service to become right: Kubernetes
// reconciles it every 10 s, a concurrent spec may just have deleted it, and the EndpointSlice
// follows the Endpoints.
const kubernetesServiceTimeout = 40 * time.Second

// kubernetesServiceProblem reads the kubernetes Service, Endpoints and EndpointSlice of the
// default namespace and says what is wrong with them ("" when nothing is).
func kubernetesServiceProblem(ctx context.Context, env *apiEnv) (string, *corev1.Service) {
	svc, err := env.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("reading Service default/kubernetes: %v", err), nil
	}
	if p := kubernetesServiceSpecProblem(svc); p != "" {
		return p, svc
	}
	ep, err := env.client.CoreV1().Endpoints(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("reading Endpoints default/kubernetes: %v", err), svc
	}
	es, err := env.client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("reading EndpointSlice default/kubernetes: %v", err), svc
	}
	target := svc.Spec.Ports[0].TargetPort
	wantPort := func(name string, port int32, proto corev1.Protocol) bool {
		return name == "https" && (proto == "" || proto == corev1.ProtocolTCP) &&
			(target.Type != intstr.Int || target.IntVal == 0 || port == target.IntVal)
	}
	epAddrs := map[string]bool{}
	for _, sub := range ep.Subsets {
		ok := false
		for _, p := range sub.Ports {
			ok = ok || wantPort(p.Name, p.Port, p.Protocol)
		}
		if !ok {
			return fmt.Sprintf("Endpoints default/kubernetes: subset %+v has no TCP port https = the targetPort %s", sub, target.String()), svc
		}
		for _, a := range sub.Addresses {
			epAddrs[a.IP] = true
		}
	}
	if len(epAddrs) == 0 {
		return fmt.Sprintf("Endpoints default/kubernetes list no ready address: %+v", ep.Subsets), svc
	}
	if es.Labels["kubernetes.io/service-name"] != "kubernetes" {
		return fmt.Sprintf("EndpointSlice default/kubernetes is not labelled kubernetes.io/service-name=kubernetes: %v", es.Labels), svc
	}
	ok := false
	for _, p := range es.Ports {
		if p.Name != nil && p.Port != nil {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			ok = ok || wantPort(*p.Name, *p.Port, proto)
		}
	}
	if !ok {
		return fmt.Sprintf("EndpointSlice default/kubernetes has no TCP port https = the targetPort %s: %+v", target.String(), es.Ports), svc
	}
	esAddrs := map[string]bool{}
	for _, e := range es.Endpoints {
		if e.Conditions.Ready == nil || *e.Conditions.Ready {
			for _, a := range e.Addresses {
				esAddrs[a] = true
			}
		}
	}
	if fmt.Sprint(esAddrs) != fmt.Sprint(epAddrs) {
		return fmt.Sprintf("the EndpointSlice's ready addresses %v differ from the Endpoints' %v", keysOf(esAddrs), keysOf(epAddrs)), svc
	}
	return "", svc
}

// kubernetesServiceSpecProblem says what is wrong with the kubernetes Service itself.
func kubernetesServiceSpecProblem(svc *corev1.Service) string {
	if svc.Labels["component"] != "apiserver" || svc.Labels["provider"] != "kubernetes" {
		return fmt.Sprintf("Service default/kubernetes is not labelled component=apiserver, provider=kubernetes: %v", svc.Labels)
	}
	if len(svc.Spec.Selector) != 0 {
		return fmt.Sprintf("Service default/kubernetes has a selector %v: its endpoints are the API server's, not pods'", svc.Spec.Selector)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].Protocol != corev1.ProtocolTCP {
		return fmt.Sprintf("Service default/kubernetes must have one TCP port 443 named https: %+v", svc.Spec.Ports)
	}
	if _, err := netip.ParseAddr(svc.Spec.ClusterIP); err != nil {
		return fmt.Sprintf("Service default/kubernetes has no ClusterIP: %q", svc.Spec.ClusterIP)
	}
	return ""
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// eventuallyKubernetesService waits until the three objects are right and returns the Service.
func eventuallyKubernetesService(ctx context.Context, g gomega.Gomega, env *apiEnv, what string) *corev1.Service {
	var svc *corev1.Service
	g.Eventually(func() string {
		var p string
		p, svc = kubernetesServiceProblem(ctx, env)
		return p
	}).WithContext(ctx).WithTimeout(kubernetesServiceTimeout).WithPolling(200*time.Millisecond).Should(gomega.BeEmpty(), what)
	return svc
}

func specKubernetesServiceExists(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	var svc *corev1.Service
	g.Eventually(func() string {
		got, err := env.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return fmt.Sprintf("reading Service default/kubernetes: %v", err)
		}
		svc = got
		return kubernetesServiceSpecProblem(got)
	}).WithContext(ctx).WithTimeout(kubernetesServiceTimeout).WithPolling(200*time.Millisecond).Should(gomega.BeEmpty(),
		"the API server must keep the Service default/kubernetes")
	g.Expect(svc.Spec.Type).To(gomega.Equal(corev1.ServiceTypeClusterIP))
	// Its address belongs to it: a Service of the spec's namespace cannot be created with it.
	taker := plainService("takes-kubernetes-ip", "", 443)
	taker.Spec.ClusterIP = svc.Spec.ClusterIP
	_, err := env.client.CoreV1().Services(env.ns).Create(ctx, taker, metav1.CreateOptions{})
	what := "a create requesting the kubernetes Service's ClusterIP " + svc.Spec.ClusterIP
	g.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrue(), "%s: expected 422 Invalid, got %v", what, err)
	// kube-apiserver's allocator names spec.clusterIPs, clusterkit's spec.clusterIPs[0].
	var fields []string
	if st, ok := err.(apierrors.APIStatus); ok && st.Status().Details != nil {
		for _, c := range st.Status().Details.Causes {
			fields = append(fields, c.Field)
		}
	}
	g.Expect(fields).To(gomega.ContainElement(gomega.HavePrefix("spec.clusterIPs")), "%s: the 422 must name spec.clusterIPs: %v", what, err)
}

func specKubernetesServiceEndpoints(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	eventuallyKubernetesService(ctx, g, env, "the Endpoints and the EndpointSlice of the kubernetes Service must list the API server")
}

func specKubernetesServiceRecreated(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	before := eventuallyKubernetesService(ctx, g, env, "the kubernetes Service before the deletions")
	core, disc := env.client.CoreV1(), env.client.DiscoveryV1()
	g.Expect(core.Endpoints(metav1.NamespaceDefault).Delete(ctx, "kubernetes", metav1.DeleteOptions{})).To(gomega.Succeed())
	eventuallyKubernetesService(ctx, g, env, "deleted Endpoints default/kubernetes must be recreated")
	g.Expect(disc.EndpointSlices(metav1.NamespaceDefault).Delete(ctx, "kubernetes", metav1.DeleteOptions{})).To(gomega.Succeed())
	eventuallyKubernetesService(ctx, g, env, "a deleted EndpointSlice default/kubernetes must be recreated")
	g.Expect(core.Services(metav1.NamespaceDefault).Delete(ctx, "kubernetes", metav1.DeleteOptions{})).To(gomega.Succeed())
	after := eventuallyKubernetesService(ctx, g, env, "a deleted Service default/kubernetes must be recreated")
	g.Expect(after.UID).NotTo(gomega.Equal(before.UID), "the Service was not deleted")
	g.Expect(after.Spec.ClusterIP).To(gomega.Equal(before.Spec.ClusterIP), "the recreated kubernetes Service must keep its ClusterIP")
}

func specKubernetesServiceEndpointsRepaired(ctx context.Context, g gomega.Gomega, env *apiEnv) {
	eventuallyKubernetesService(ctx, g, env, "the kubernetes Service before the edits")
	// 192.0.2.0/24 is TEST-NET-1: no API server has such an address. Only the addresses are
	// overwritten: kube-apiserver reconciles the ports of its endpoints only when it starts.
	g.Eventually(func() error {
		ep, err := env.client.CoreV1().Endpoints(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range ep.Subsets {
			ep.Subsets[i].Addresses = []corev1.EndpointAddress{{IP: "192.0.2.1"}}
			ep.Subsets[i].NotReadyAddresses = nil
		}
		_, err = env.client.CoreV1().Endpoints(metav1.NamespaceDefault).Update(ctx, ep, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(10*time.Second).Should(gomega.Succeed(), "overwriting the addresses of the Endpoints default/kubernetes")
	eventuallyKubernetesService(ctx, g, env, "overwritten Endpoints default/kubernetes must be restored")
	g.Eventually(func() error {
		es, err := env.client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := true
		es.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}
		_, err = env.client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Update(ctx, es, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(10*time.Second).Should(gomega.Succeed(), "overwriting the EndpointSlice default/kubernetes")
	eventuallyKubernetesService(ctx, g, env, "an overwritten EndpointSlice default/kubernetes must be restored")
}
