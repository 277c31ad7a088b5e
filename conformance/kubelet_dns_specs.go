package conformance

import (
	"context"
	"slices"
	"strings"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Sources of the kubelet's DNS behaviours.
const (
	srcPodDNSPolicy = "Kubernetes: DNS for Services and Pods, Pod's DNS Policy and Pod's DNS Config (kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy); upstream pkg/kubelet/network/dns (GetPodDNS); upstream e2e network/dns.go \"should support configurable pod DNS nameservers\""
)

func kubeletDNSSpecs() []spec[*kubeletEnv] {
	clusterFirst := kubeletBehavior("kubelet.dns.cluster-first",
		"with dnsPolicy ClusterFirst a container's /etc/resolv.conf MUST name the kubelet's cluster DNS as its only nameserver, search NS.svc.DOMAIN, svc.DOMAIN and DOMAIN first (NS the pod's namespace, DOMAIN the cluster domain) and set ndots:5",
		srcPodDNSPolicy)
	clusterFirst.Needs = []Capability{ClusterDNS}
	dflt := kubeletBehavior("kubelet.dns.default-is-node",
		"with dnsPolicy Default a container's /etc/resolv.conf MUST NOT name the cluster DNS nor search the cluster domain: it is the node's",
		srcPodDNSPolicy)
	dflt.Needs = []Capability{ClusterDNS}
	return []spec[*kubeletEnv]{
		{clusterFirst, specDNSClusterFirst},
		{dflt, specDNSDefault},
		{kubeletBehavior("kubelet.dns.none-uses-dns-config",
			"with dnsPolicy None a container's /etc/resolv.conf MUST hold exactly the nameservers, search domains and options of the pod's dnsConfig",
			srcPodDNSPolicy), specDNSNone},
	}
}

// resolvConf is a parsed resolv.conf.
type resolvConf struct {
	nameservers, search, options []string
}

func parseResolvConf(s string) resolvConf {
	var r resolvConf
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				r.nameservers = append(r.nameservers, f[1])
			}
		case "search", "domain":
			r.search = append([]string{}, f[1:]...)
		case "options":
			r.options = append(r.options, f[1:]...)
		}
	}
	return r
}

// podResolvConf runs a pod with dnsPolicy policy (and dnsConfig dc) and reads its
// container's /etc/resolv.conf.
func (e *kubeletEnv) podResolvConf(ctx context.Context, g gomega.Gomega, name string, policy corev1.DNSPolicy, dc *corev1.PodDNSConfig) resolvConf {
	p := e.testPod(name, "serve-hostname")
	p.Spec.DNSPolicy, p.Spec.DNSConfig = policy, dc
	e.create(ctx, g, p)
	e.waitPod(ctx, g, name, "Running", startTimeout, isRunning)
	out := e.cat(ctx, g, name, "/etc/resolv.conf")
	return parseResolvConf(out)
}

func specDNSClusterFirst(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	r := e.podResolvConf(ctx, g, "cluster-first", corev1.DNSClusterFirst, nil)
	d := e.h.ClusterDomain
	g.Expect(r.nameservers).To(gomega.Equal([]string{e.h.ClusterDNS}), "nameservers")
	want := []string{e.ns + ".svc." + d, "svc." + d, d}
	g.Expect(len(r.search)).To(gomega.BeNumerically(">=", 3), "search line %v", r.search)
	g.Expect(r.search[:3]).To(gomega.Equal(want), "search line")
	g.Expect(r.options).To(gomega.ContainElement("ndots:5"), "options")
}

func specDNSDefault(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	r := e.podResolvConf(ctx, g, "dns-default", corev1.DNSDefault, nil)
	g.Expect(r.nameservers).NotTo(gomega.ContainElement(e.h.ClusterDNS), "nameservers")
	for _, s := range r.search {
		g.Expect(s == e.h.ClusterDomain || strings.HasSuffix(s, "."+e.h.ClusterDomain)).To(gomega.BeFalse(), "search domain %s is the cluster's", s)
	}
}

func specDNSNone(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	r := e.podResolvConf(ctx, g, "dns-none", corev1.DNSNone, &corev1.PodDNSConfig{
		Nameservers: []string{"203.0.113.53", "198.51.100.53"},
		Searches:    []string{"one.dns-spec.test", "two.dns-spec.test"},
		Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "edns0"}},
	})
	g.Expect(r.nameservers).To(gomega.Equal([]string{"203.0.113.53", "198.51.100.53"}), "nameservers")
	g.Expect(r.search).To(gomega.Equal([]string{"one.dns-spec.test", "two.dns-spec.test"}), "search line")
	opts := slices.Clone(r.options)
	slices.Sort(opts)
	g.Expect(opts).To(gomega.Equal([]string{"edns0", "ndots:2"}), "options")
}
