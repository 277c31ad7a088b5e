package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Sources of the DNS behaviours.
const (
	srcDNSSpec        = "Kubernetes DNS-Based Service Discovery (github.com/kubernetes/dns/blob/master/docs/specification.md)"
	srcDNSClusterIP   = srcDNSSpec + " 2.3.1: `<service>.<ns>.svc.<zone>. <ttl> IN A <cluster-ip>`"
	srcDNSSchema      = srcDNSSpec + " 2.2: \"There must be a TXT record named dns-version.<zone>. that contains the semantic version of the DNS schema\""
	srcDNSSRV         = srcDNSSpec + " 2.3.2: \"For each port in the Service with name <port> and number <port-number> using protocol <proto>, an SRV record … must exist\" (target `<service>.<ns>.svc.<zone>.`)"
	srcDNSPTR         = srcDNSSpec + " 2.3.3: `<d>.<c>.<b>.<a>.in-addr.arpa. <ttl> IN PTR <service>.<ns>.svc.<zone>.`"
	srcDNSHeadless    = srcDNSSpec + " 2.4.1: \"There must be an A record for each ready endpoint of the headless Service\"; discovery/v1 EndpointConditions.ready"
	srcDNSHostname    = srcDNSSpec + " 2.4.1: \"an A record of the following form for each ready endpoint with hostname of <hostname>\": `<hostname>.<service>.<ns>.svc.<zone>.`"
	srcDNSHeadlessSRV = srcDNSSpec + " 2.4.2: \"For each combination of ready endpoint with hostname of <hostname>, and port in the Service … an SRV record\" with target `<hostname>.<service>.<ns>.svc.<zone>.`"
	srcDNSExternal    = srcDNSSpec + " 2.5: \"a CNAME record named <service>.<ns>.svc.<zone> pointing to <extname> must exist\""
	srcDNSPod         = srcDNSSpec + " 2.6: `<a>-<b>-<c>-<d>.<ns>.pod.<zone>. <ttl> IN A <a>.<b>.<c>.<d>` \"is deprecated but is required to satisfy this specification\"; kubernetes.io/docs/concepts/services-networking/dns-pod-service/#a-aaaa-records-1"
	srcDNSNXDomain    = "RFC 1035 4.1.1 (RCODE 3, Name Error: \"the domain name referenced in the query does not exist\"); RFC 8020; CoreDNS kubernetes plugin (coredns.io/plugins/kubernetes)"
	srcDNSNoData      = "RFC 2308 2.2 (NODATA: the name exists but holds no record of the type: NOERROR with an empty answer); CoreDNS kubernetes plugin (AAAA of an IPv4 Service)"
	srcDNSKubernetes  = srcDNSSpec + " 2.3.1, question example `kubernetes.default.svc.cluster.local. IN A`; kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/ (nslookup kubernetes.default)"
	srcDNSRecreated   = srcDNSClusterIP + "; kubernetes.io/docs/concepts/services-networking/dns-pod-service/ (the record \"resolves to the cluster IP of the Service\"); CoreDNS kubernetes plugin serves from a watch of the API (ttl, 30 s in kubeadm's Corefile, bounds caching)"
	srcDNSFollows     = srcDNSHeadless + "; CoreDNS kubernetes plugin watches EndpointSlices"
	srcDNSSearch      = "kubernetes.io/docs/concepts/services-networking/dns-pod-service/#namespaces-of-services: \"A Pod running in namespace bar can look up this service by simply doing a DNS query for foo. A Pod running in namespace quux can look up this service by doing a DNS query for foo.bar\"; upstream pkg/kubelet/network/dns (search NS.svc.DOMAIN svc.DOMAIN DOMAIN, ndots:5)"
)

func dnsBehavior(id, must, source string, needs ...Capability) Behavior {
	return Behavior{ID: id, Component: "dns", Must: must, Source: source, Needs: needs}
}

func dnsSpecs() []spec[*dnsEnv] {
	return []spec[*dnsEnv]{
		{dnsBehavior("dns.schema.version",
			"the cluster DNS MUST answer TXT dns-version.DOMAIN. with the semantic version of the DNS schema it serves",
			srcDNSSchema), specDNSSchemaVersion},
		{dnsBehavior("dns.service.cluster-ip",
			"the cluster DNS MUST answer A (AAAA for IPv6) SVC.NS.svc.DOMAIN. of a ClusterIP Service with its cluster IP",
			srcDNSClusterIP), specDNSClusterIP},
		{dnsBehavior("dns.service.recreated",
			"when a Service is deleted and created again with another cluster IP, the cluster DNS MUST answer its name with the new IP once the TTL of the old answer has passed, never the old IP again",
			srcDNSRecreated), specDNSRecreated},
		{dnsBehavior("dns.service.kubernetes",
			"the cluster DNS MUST answer kubernetes.default.svc.DOMAIN. with the cluster IP of Service default/kubernetes (the API server)",
			srcDNSKubernetes), specDNSKubernetes},
		{dnsBehavior("dns.service.missing-nxdomain",
			"the cluster DNS MUST answer NXDOMAIN for SVC.NS.svc.DOMAIN. when namespace NS exists but has no Service SVC",
			srcDNSNXDomain), specDNSMissingService},
		{dnsBehavior("dns.service.nodata",
			"the cluster DNS MUST answer NOERROR with no record (NODATA), not NXDOMAIN, for an existing Service's name asked with a type it has no record of (AAAA of a single-stack IPv4 Service)",
			srcDNSNoData), specDNSNoData},
		{dnsBehavior("dns.service.ptr",
			"the cluster DNS MUST answer PTR of a ClusterIP Service's cluster IP (in-addr.arpa, ip6.arpa) with SVC.NS.svc.DOMAIN.",
			srcDNSPTR), specDNSPTR},
		{dnsBehavior("dns.srv.named-port",
			"the cluster DNS MUST answer SRV _PORT._PROTO.SVC.NS.svc.DOMAIN. of a ClusterIP Service's named port with the port's number and the target SVC.NS.svc.DOMAIN.",
			srcDNSSRV), specDNSSRV},
		{dnsBehavior("dns.headless.ready-endpoints",
			"the cluster DNS MUST answer A SVC.NS.svc.DOMAIN. of a headless Service with exactly the addresses of its ready endpoints: a not-ready endpoint's address MUST NOT be among them",
			srcDNSHeadless), specDNSHeadlessReady},
		{dnsBehavior("dns.headless.follows-endpoints",
			"when a headless Service's endpoints change (one added, one turning not ready), the cluster DNS MUST answer its name with the new set of ready addresses once the TTL of the old answer has passed",
			srcDNSFollows), specDNSHeadlessFollows},
		{dnsBehavior("dns.headless.hostname",
			"the cluster DNS MUST answer A HOSTNAME.SVC.NS.svc.DOMAIN. with the address of the headless Service's ready endpoint whose hostname is HOSTNAME",
			srcDNSHostname), specDNSHeadlessHostname},
		{dnsBehavior("dns.headless.srv",
			"the cluster DNS MUST answer SRV _PORT._PROTO.SVC.NS.svc.DOMAIN. of a headless Service with one record per ready endpoint, of the port's number and the target HOSTNAME.SVC.NS.svc.DOMAIN.",
			srcDNSHeadlessSRV), specDNSHeadlessSRV},
		{dnsBehavior("dns.externalname.cname",
			"the cluster DNS MUST answer SVC.NS.svc.DOMAIN. of an ExternalName Service with a CNAME to its externalName",
			srcDNSExternal), specDNSExternalName},
		{dnsBehavior("dns.pod.address",
			"the cluster DNS MUST answer A A-B-C-D.NS.pod.DOMAIN. with the address A.B.C.D (a pod's address)",
			srcDNSPod), specDNSPodAddress},
		{dnsBehavior("dns.search.short-name",
			"from a pod with dnsPolicy ClusterFirst, the bare name SVC of a Service in the pod's namespace MUST resolve, through the pod's search list, to SVC.NS.svc.DOMAIN and its cluster IP",
			srcDNSSearch, PodDNS), specDNSSearchShort},
		{dnsBehavior("dns.search.other-namespace",
			"from a pod with dnsPolicy ClusterFirst, the name SVC.OTHER of a Service in another namespace OTHER MUST resolve, through the pod's search list, to SVC.OTHER.svc.DOMAIN and its cluster IP",
			srcDNSSearch, PodDNS), specDNSSearchOtherNamespace},
		{dnsBehavior("dns.search.kubernetes-default",
			"from a pod with dnsPolicy ClusterFirst, the name kubernetes.default MUST resolve to the cluster IP of Service default/kubernetes",
			srcDNSSearch+"; kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/", PodDNS), specDNSSearchKubernetes},
	}
}

// fqdn is the absolute name of svc in namespace ns.
func (e *dnsEnv) fqdn(svc, ns string) string {
	return svc + "." + ns + ".svc." + e.domain + "."
}

// ask asks one question. No answer at all (a lost datagram, an exec that failed) is asked
// again, as a stub resolver retries; three in a row fail the spec.
func (e *dnsEnv) ask(ctx context.Context, g gomega.Gomega, name, qtype string) DNSAnswer {
	var (
		a   DNSAnswer
		err error
	)
	for range 3 {
		if a, err = e.resolver.Lookup(ctx, name, qtype); err == nil || ctx.Err() != nil {
			break
		}
	}
	g.Expect(err).NotTo(gomega.HaveOccurred(), "asking %s %s", qtype, name)
	return a
}

// await asks until check accepts the answer (returns "") or within has passed; then the spec
// fails with the last answer and why check refused it.
func (e *dnsEnv) await(ctx context.Context, g gomega.Gomega, name, qtype string, within time.Duration, check func(DNSAnswer) string) DNSAnswer {
	deadline := time.Now().Add(within)
	var why string
	var last DNSAnswer
	for {
		a, err := e.resolver.Lookup(ctx, name, qtype)
		if err != nil {
			why = err.Error()
		} else if last, why = a, check(a); why == "" {
			return a
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.Expect(why).To(gomega.BeEmpty(), "asking %s %s for %s: last answer %s", qtype, name, within, last)
			return last
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// steady asks a few more times over a second: every answer must pass check (a DNS that
// answers right once and then wrong, e.g. from a second, lagging source, fails).
func (e *dnsEnv) steady(ctx context.Context, g gomega.Gomega, name, qtype string, check func(DNSAnswer) string) {
	for range 4 {
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
		a := e.ask(ctx, g, name, qtype)
		g.Expect(check(a)).To(gomega.BeEmpty(), "asking %s %s again: %s", qtype, name, a)
	}
}

// exactly accepts a NOERROR answer whose records of type t are want (any order, compared
// case-insensitively).
func exactly(t string, want ...string) func(DNSAnswer) string {
	w := make([]string, len(want))
	for i, x := range want {
		w[i] = strings.ToLower(x)
	}
	slices.Sort(w)
	return func(a DNSAnswer) string {
		if a.Rcode != "NOERROR" {
			return fmt.Sprintf("rcode %s, want NOERROR", a.Rcode)
		}
		got := a.Data(t)
		for i := range got {
			got[i] = strings.ToLower(got[i])
		}
		slices.Sort(got)
		if !slices.Equal(got, w) {
			return fmt.Sprintf("%s records %v, want %v", t, got, w)
		}
		return ""
	}
}

// addrType is the record type of ip's family.
func addrType(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		return "AAAA"
	}
	return "A"
}

// service creates a selector-less ClusterIP Service (single-stack) with the named ports
// http 80/TCP and dns 53/UDP, changed by mutate.
func (e *dnsEnv) service(ctx context.Context, g gomega.Gomega, ns, name string, mutate func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicySingleStack),
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP},
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
			},
		},
	}
	if mutate != nil {
		mutate(svc)
	}
	out, err := e.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "creating Service %s/%s", ns, name)
	return out
}

// headless creates a selector-less headless Service with the named port http 8080/TCP.
func (e *dnsEnv) headless(ctx context.Context, g gomega.Gomega, name string) *corev1.Service {
	return e.service(ctx, g, e.ns, name, func(s *corev1.Service) {
		s.Spec.ClusterIP = corev1.ClusterIPNone
		s.Spec.IPFamilyPolicy = nil
		s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}
	})
}

// dnsEndpoint is one endpoint the specs publish for a headless Service.
type dnsEndpoint struct {
	addr, hostname string
	ready          bool
}

// dnsSliceManager marks the EndpointSlices the specs write, as a custom controller would
// for a Service without a selector (the EndpointSlice controller leaves them alone).
const dnsSliceManager = "conformance.clusterkit.io"

// publish writes the headless Service's one EndpointSlice (port http 8080/TCP) with eps,
// creating it the first time.
func (e *dnsEnv) publish(ctx context.Context, g gomega.Gomega, svc string, eps ...dnsEndpoint) {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-ck", Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: dnsSliceManager,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, ep := range eps {
		x := discoveryv1.Endpoint{Addresses: []string{ep.addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ep.ready)}}
		if ep.hostname != "" {
			x.Hostname = ptr.To(ep.hostname)
		}
		sl.Endpoints = append(sl.Endpoints, x)
	}
	api := e.client.DiscoveryV1().EndpointSlices(e.ns)
	old, err := api.Get(ctx, sl.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, sl, metav1.CreateOptions{})
	case err == nil:
		sl.ResourceVersion = old.ResourceVersion
		_, err = api.Update(ctx, sl, metav1.UpdateOptions{})
	}
	g.Expect(err).NotTo(gomega.HaveOccurred(), "writing the EndpointSlice of %s", svc)
}

// reverseName is the PTR name of ip (in-addr.arpa or ip6.arpa).
func reverseName(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	b := a.AsSlice()
	var l []string
	if a.Is4() {
		for i := len(b) - 1; i >= 0; i-- {
			l = append(l, fmt.Sprint(b[i]))
		}
		return strings.Join(l, ".") + ".in-addr.arpa."
	}
	for i := len(b) - 1; i >= 0; i-- {
		l = append(l, fmt.Sprintf("%x", b[i]&0xf), fmt.Sprintf("%x", b[i]>>4))
	}
	return strings.Join(l, ".") + ".ip6.arpa."
}

var semverTXT = regexp.MustCompile(`^"?[0-9]+\.[0-9]+\.[0-9]+"?$`)

func specDNSSchemaVersion(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	e.await(ctx, g, "dns-version."+e.domain+".", "TXT", e.converge, func(a DNSAnswer) string {
		txt := a.Data("TXT")
		if a.Rcode != "NOERROR" || len(txt) != 1 || !semverTXT.MatchString(txt[0]) {
			return fmt.Sprintf("want one TXT record of a semantic version, got %s", a)
		}
		return ""
	})
}

func specDNSClusterIP(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	svc := e.service(ctx, g, e.ns, "web", nil)
	ip := svc.Spec.ClusterIP
	e.await(ctx, g, e.fqdn("web", e.ns), addrType(ip), e.converge, exactly(addrType(ip), ip))
}

func specDNSRecreated(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	svcs := e.client.CoreV1().Services(e.ns)
	first := e.service(ctx, g, e.ns, "moving", nil)
	name, t := e.fqdn("moving", e.ns), addrType(first.Spec.ClusterIP)
	old := e.await(ctx, g, name, t, e.converge, exactly(t, first.Spec.ClusterIP))
	// A second Service reserves the address the first will have when created again.
	spare := e.service(ctx, g, e.ns, "spare", nil)
	next := spare.Spec.ClusterIP
	g.Expect(next).NotTo(gomega.Equal(first.Spec.ClusterIP))
	for _, n := range []string{"moving", "spare"} {
		g.Expect(svcs.Delete(ctx, n, metav1.DeleteOptions{})).To(gomega.Succeed(), "deleting Service %s", n)
	}
	// The address is free again once the API server has released it.
	g.Eventually(ctx, func() error {
		_, err := svcs.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "moving"},
			Spec: corev1.ServiceSpec{ClusterIP: next, ClusterIPs: []string{next}, IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicySingleStack),
				Ports: first.Spec.Ports},
		}, metav1.CreateOptions{})
		return err
	}).WithTimeout(30*time.Second).WithPolling(250*time.Millisecond).Should(gomega.Succeed(), "creating Service moving again with cluster IP %s", next)
	e.await(ctx, g, name, t, e.converge+old.MaxTTL(), exactly(t, next))
	// And it keeps answering the new address (a cache that flaps between the two fails).
	e.steady(ctx, g, name, t, exactly(t, next))
}

func specDNSKubernetes(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	svc, err := e.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "reading Service default/kubernetes")
	ip := svc.Spec.ClusterIP
	e.await(ctx, g, e.fqdn("kubernetes", "default"), addrType(ip), e.converge, exactly(addrType(ip), ip))
}

func specDNSMissingService(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	// A Service of the namespace first: the DNS has seen the namespace once it answers it.
	svc := e.service(ctx, g, e.ns, "present", nil)
	t := addrType(svc.Spec.ClusterIP)
	e.await(ctx, g, e.fqdn("present", e.ns), t, e.converge, exactly(t, svc.Spec.ClusterIP))
	for _, qt := range []string{"A", "SRV"} {
		a := e.ask(ctx, g, e.fqdn("absent", e.ns), qt)
		g.Expect(a.Rcode).To(gomega.Equal("NXDOMAIN"), "asking %s %s: %s", qt, e.fqdn("absent", e.ns), a)
		g.Expect(a.Records).To(gomega.BeEmpty(), "asking %s %s", qt, e.fqdn("absent", e.ns))
	}
}

func specDNSNoData(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	svc := e.service(ctx, g, e.ns, "single", nil)
	t := addrType(svc.Spec.ClusterIP)
	name := e.fqdn("single", e.ns)
	e.await(ctx, g, name, t, e.converge, exactly(t, svc.Spec.ClusterIP))
	other := "AAAA"
	if t == "AAAA" {
		other = "A"
	}
	a := e.ask(ctx, g, name, other)
	g.Expect(a.Rcode).To(gomega.Equal("NOERROR"), "asking %s %s of a single-stack Service: %s", other, name, a)
	g.Expect(a.Data(other)).To(gomega.BeEmpty(), "asking %s %s of a single-stack Service", other, name)
}

func specDNSPTR(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	svc := e.service(ctx, g, e.ns, "named", nil)
	e.await(ctx, g, reverseName(svc.Spec.ClusterIP), "PTR", e.converge, exactly("PTR", e.fqdn("named", e.ns)))
}

// srvTargets are the "PORT TARGET" pairs of SRV records (priority and weight dropped).
func srvTargets(a DNSAnswer) []string {
	var out []string
	for _, d := range a.Data("SRV") {
		if f := strings.Fields(d); len(f) == 4 {
			out = append(out, f[2]+" "+strings.ToLower(f[3]))
		}
	}
	slices.Sort(out)
	return out
}

// srvExactly accepts a NOERROR answer whose SRV records are the "PORT TARGET" pairs want.
func srvExactly(want ...string) func(DNSAnswer) string {
	slices.Sort(want)
	return func(a DNSAnswer) string {
		if a.Rcode != "NOERROR" {
			return fmt.Sprintf("rcode %s, want NOERROR", a.Rcode)
		}
		if got := srvTargets(a); !slices.Equal(got, want) {
			return fmt.Sprintf("SRV port and target %v, want %v", got, want)
		}
		return ""
	}
}

func specDNSSRV(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	e.service(ctx, g, e.ns, "ports", nil)
	target := e.fqdn("ports", e.ns)
	e.await(ctx, g, "_http._tcp."+target, "SRV", e.converge, srvExactly("80 "+target))
	e.await(ctx, g, "_dns._udp."+target, "SRV", e.converge, srvExactly("53 "+target))
}

func specDNSHeadlessReady(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	e.headless(ctx, g, "db")
	e.publish(ctx, g, "db",
		dnsEndpoint{addr: "10.254.1.1", hostname: "db-0", ready: true},
		dnsEndpoint{addr: "10.254.1.2", hostname: "db-1", ready: true},
		dnsEndpoint{addr: "10.254.1.3", hostname: "db-2", ready: false})
	e.await(ctx, g, e.fqdn("db", e.ns), "A", e.converge, exactly("A", "10.254.1.1", "10.254.1.2"))
	e.steady(ctx, g, e.fqdn("db", e.ns), "A", exactly("A", "10.254.1.1", "10.254.1.2"))
}

func specDNSHeadlessFollows(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	e.headless(ctx, g, "db")
	e.publish(ctx, g, "db",
		dnsEndpoint{addr: "10.254.1.1", hostname: "db-0", ready: true},
		dnsEndpoint{addr: "10.254.1.2", hostname: "db-1", ready: true})
	name := e.fqdn("db", e.ns)
	old := e.await(ctx, g, name, "A", e.converge, exactly("A", "10.254.1.1", "10.254.1.2"))
	e.publish(ctx, g, "db",
		dnsEndpoint{addr: "10.254.1.1", hostname: "db-0", ready: false},
		dnsEndpoint{addr: "10.254.1.2", hostname: "db-1", ready: true},
		dnsEndpoint{addr: "10.254.1.4", hostname: "db-3", ready: true})
	e.await(ctx, g, name, "A", e.converge+old.MaxTTL(), exactly("A", "10.254.1.2", "10.254.1.4"))
	e.steady(ctx, g, name, "A", exactly("A", "10.254.1.2", "10.254.1.4"))
}

func specDNSHeadlessHostname(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	e.headless(ctx, g, "pets")
	e.publish(ctx, g, "pets",
		dnsEndpoint{addr: "10.254.2.1", hostname: "pet-0", ready: true},
		dnsEndpoint{addr: "10.254.2.2", hostname: "pet-1", ready: true})
	e.await(ctx, g, "pet-1."+e.fqdn("pets", e.ns), "A", e.converge, exactly("A", "10.254.2.2"))
	e.await(ctx, g, "pet-0."+e.fqdn("pets", e.ns), "A", e.converge, exactly("A", "10.254.2.1"))
}

func specDNSHeadlessSRV(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	e.headless(ctx, g, "peers")
	e.publish(ctx, g, "peers",
		dnsEndpoint{addr: "10.254.3.1", hostname: "peer-0", ready: true},
		dnsEndpoint{addr: "10.254.3.2", hostname: "peer-1", ready: true},
		dnsEndpoint{addr: "10.254.3.3", hostname: "peer-2", ready: false})
	svc := e.fqdn("peers", e.ns)
	e.await(ctx, g, "_http._tcp."+svc, "SRV", e.converge, srvExactly("8080 peer-0."+svc, "8080 peer-1."+svc))
	e.steady(ctx, g, "_http._tcp."+svc, "SRV", srvExactly("8080 peer-0."+svc, "8080 peer-1."+svc))
}

func specDNSExternalName(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	e.service(ctx, g, e.ns, "elsewhere", func(s *corev1.Service) {
		s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "ck-target.example.com"}
	})
	e.await(ctx, g, e.fqdn("elsewhere", e.ns), "CNAME", e.converge, exactly("CNAME", "ck-target.example.com."))
}

func specDNSPodAddress(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	// The client pod's own address when the specs run one; else any address, as the
	// specification requires of this deprecated record.
	ip := "10.254.9.17"
	if a, err := netip.ParseAddr(e.podIP); err == nil && a.Is4() {
		ip = a.String()
	}
	name := strings.ReplaceAll(ip, ".", "-") + "." + e.ns + ".pod." + e.domain + "."
	e.await(ctx, g, name, "A", e.converge, exactly("A", ip))
}

// awaitSearched asks name (relative) from the pod until it resolves to ip as fqdn.
func (e *dnsEnv) awaitSearched(ctx context.Context, g gomega.Gomega, name, fqdn, ip string) {
	t := addrType(ip)
	e.await(ctx, g, name, t, e.converge, func(a DNSAnswer) string {
		if why := exactly(t, ip)(a); why != "" {
			return why
		}
		if !strings.EqualFold(a.Name, fqdn) {
			return fmt.Sprintf("answered for %s, want %s", a.Name, fqdn)
		}
		return ""
	})
}

func specDNSSearchShort(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	svc := e.service(ctx, g, e.ns, "near", nil)
	e.awaitSearched(ctx, g, "near", e.fqdn("near", e.ns), svc.Spec.ClusterIP)
}

func specDNSSearchOtherNamespace(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	other, err := specNamespace(ctx, e.client, e.cleaner, "dns")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	svc := e.service(ctx, g, other, "far", nil)
	e.awaitSearched(ctx, g, "far."+other, e.fqdn("far", other), svc.Spec.ClusterIP)
}

func specDNSSearchKubernetes(ctx context.Context, g gomega.Gomega, e *dnsEnv) {
	svc, err := e.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "reading Service default/kubernetes")
	e.awaitSearched(ctx, g, "kubernetes.default", e.fqdn("kubernetes", "default"), svc.Spec.ClusterIP)
}
