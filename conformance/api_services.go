package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Sources of the Service allocation behaviours.
const (
	srcServiceAlloc = "Kubernetes: Service ClusterIP allocation (kubernetes.io/docs/concepts/services-networking/cluster-ip-allocation)"
	srcServiceType  = "Kubernetes: Service type (kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types)"
	srcServiceValid = "Kubernetes Service API validation (pkg/apis/core/validation ValidateService)"
)

// apiServiceSpecs are the API specs of Service address allocation and validation. They assume
// nothing about the cluster's service CIDR or node port range, so they run against any API
// server.
func apiServiceSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.service.cluster-ip-allocated", "a created ClusterIP Service MUST get a valid IPv4 spec.clusterIP, with spec.clusterIPs holding the same address", srcServiceAlloc), specServiceClusterIPAllocated},
		{api("api.service.cluster-ip-unique", "Services created concurrently MUST get pairwise different ClusterIPs, and a create requesting a ClusterIP in use MUST fail with 422 naming spec.clusterIPs[0]", srcServiceAlloc), specServiceClusterIPUnique},
		{api("api.service.cluster-ip-released", "the ClusterIP of a deleted Service MUST become available again to a create that requests it", srcServiceAlloc), specServiceClusterIPReleased},
		{api("api.service.headless", "a Service created with clusterIP None MUST keep clusterIP None and get no address", srcServiceType), specServiceHeadless},
		{api("api.service.node-port", "a NodePort Service MUST get a node port on every port, and a create requesting a node port in use MUST fail with 422 naming spec.ports[0].nodePort until the owner is deleted", srcServiceType), specServiceNodePort},
		{api("api.service.type-change", "changing a Service from NodePort to ClusterIP MUST drop its node ports, from ClusterIP to NodePort MUST keep its ClusterIP, and changing an allocated ClusterIP MUST fail with 422", srcServiceType), specServiceTypeChange},
		{api("api.service.validation", "a Service with an invalid port, protocol, selector or session affinity MUST be rejected with 422 naming each field", srcServiceValid), specServiceValidation},
	}
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
	expectInvalid(g, err, "create with a ClusterIP in use", "spec.clusterIPs[0]")
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
	expectInvalid(g, err, "changing an allocated ClusterIP", "spec.clusterIP")
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
