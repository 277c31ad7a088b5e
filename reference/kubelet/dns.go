package kubelet

import (
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DNS limits of a pod's resolv.conf, those of the API's validation (ExpandedDNSConfig, on
// since Kubernetes 1.28): nameservers, search domains, characters of the search line, and
// characters of one search domain.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	maxDNSSearchLength    = 253
)

// DefaultResolvConf is the resolv.conf pods with dnsPolicy Default get (kubelet's
// --resolv-conf default).
const DefaultResolvConf = "/etc/resolv.conf"

// podDNSConfig is the CRI DNS config of pod, from its dnsPolicy and dnsConfig, as the
// kubelet's DNS configurer forms it: ClusterFirst (not on the host network) and
// ClusterFirstWithHostNet use the cluster DNS servers with the search path
// NS.svc.DOMAIN svc.DOMAIN DOMAIN and the node's search domains, and ndots:5; Default (and
// ClusterFirst on the host network, or without cluster DNS configured) the node's
// resolv.conf; None nothing. A pod's dnsConfig is then merged in (nameservers and search
// domains appended without duplicates, options by name), and the result cut to the limits.
func (k *Kubelet) podDNSConfig(pod *corev1.Pod) *runtimeapi.DNSConfig {
	host, err := readResolvConf(k.cfg.ResolvConf)
	if err != nil {
		k.logf("pod %s/%s: reading %s for its DNS config: %v", pod.Namespace, pod.Name, k.cfg.ResolvConf, err)
		host = &runtimeapi.DNSConfig{}
	}
	cfg := host
	switch policy := pod.Spec.DNSPolicy; {
	case policy == corev1.DNSNone:
		cfg = &runtimeapi.DNSConfig{}
	case (policy == corev1.DNSClusterFirstWithHostNet || (policy != corev1.DNSDefault && !pod.Spec.HostNetwork)) && len(k.cfg.ClusterDNS) > 0:
		searches := host.Searches
		if d := k.cfg.ClusterDomain; d != "" {
			searches = omitDuplicates(append([]string{pod.Namespace + ".svc." + d, "svc." + d, d}, host.Searches...))
		}
		cfg = &runtimeapi.DNSConfig{Servers: append([]string(nil), k.cfg.ClusterDNS...), Searches: searches, Options: []string{"ndots:5"}}
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		cfg.Servers = omitDuplicates(append(cfg.Servers, dc.Nameservers...))
		cfg.Searches = omitDuplicates(append(cfg.Searches, dc.Searches...))
		cfg.Options = mergeDNSOptions(cfg.Options, dc.Options)
	}
	return k.dnsWithinLimits(pod, cfg)
}

// dnsWithinLimits cuts cfg to the limits: the first 3 nameservers; the first 32 search
// domains, without those over 253 characters, then without the last ones until the line is
// at most 2048 characters.
func (k *Kubelet) dnsWithinLimits(pod *corev1.Pod, cfg *runtimeapi.DNSConfig) *runtimeapi.DNSConfig {
	if len(cfg.Servers) > maxDNSNameservers {
		cfg.Servers = cfg.Servers[:maxDNSNameservers]
		k.logf("pod %s/%s: nameserver limits exceeded, the applied nameserver line is: %s", pod.Namespace, pod.Name, strings.Join(cfg.Servers, " "))
	}
	s := cfg.Searches
	cut := false
	if len(s) > maxDNSSearchPaths {
		s, cut = s[:maxDNSSearchPaths], true
	}
	kept := make([]string, 0, len(s))
	for _, d := range s {
		if len(d) > maxDNSSearchLength {
			cut = true
			continue
		}
		kept = append(kept, d)
	}
	for len(kept) > 0 && len(strings.Join(kept, " ")) > maxDNSSearchListChars {
		kept, cut = kept[:len(kept)-1], true
	}
	if cut {
		k.logf("pod %s/%s: search line limits exceeded, the applied search line is: %s", pod.Namespace, pod.Name, strings.Join(kept, " "))
	}
	cfg.Searches = kept
	return cfg
}

// readResolvConf parses a resolv.conf: nameserver lines accumulate, the last search and
// options lines win, search domains lose a trailing dot. "" reads nothing.
func readResolvConf(path string) (*runtimeapi.DNSConfig, error) {
	cfg := &runtimeapi.DNSConfig{}
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("resolv.conf: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) >= 2 {
				cfg.Servers = append(cfg.Servers, f[1])
			}
		case "search":
			cfg.Searches = []string{}
			for _, d := range f[1:] {
				cfg.Searches = append(cfg.Searches, strings.TrimSuffix(d, "."))
			}
		case "options":
			cfg.Options = append([]string{}, f[1:]...)
		}
	}
	return cfg, nil
}

func omitDuplicates(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeDNSOptions merges a pod's dnsConfig options into existing ones: an option of the same
// name is replaced; options keep the order of their first appearance.
func mergeDNSOptions(existing []string, pod []corev1.PodDNSConfigOption) []string {
	var order []string
	vals := map[string]string{}
	set := func(name, val string) {
		if _, ok := vals[name]; !ok {
			order = append(order, name)
		}
		vals[name] = val
	}
	for _, op := range existing {
		name, val, _ := strings.Cut(op, ":")
		set(name, val)
	}
	for _, op := range pod {
		val := ""
		if op.Value != nil {
			val = *op.Value
		}
		set(op.Name, val)
	}
	out := make([]string, 0, len(order))
	for _, name := range order {
		if v := vals[name]; v != "" {
			out = append(out, name+":"+v)
		} else {
			out = append(out, name)
		}
	}
	return out
}

// podHostname is the sandbox hostname of pod: spec.hostname, else its name cut to 63
// characters without a trailing '-' or '.'; with setHostnameAsFQDN and a subdomain, the
// fully qualified hostname.subdomain.NS.svc.DOMAIN.
func (k *Kubelet) podHostname(pod *corev1.Pod) string {
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if len(hostname) > 63 {
		hostname = strings.TrimRight(hostname[:63], "-.")
	}
	if pod.Spec.Subdomain != "" && k.cfg.ClusterDomain != "" && pod.Spec.SetHostnameAsFQDN != nil && *pod.Spec.SetHostnameAsFQDN {
		fqdn := fmt.Sprintf("%s.%s.%s.svc.%s", hostname, pod.Spec.Subdomain, pod.Namespace, k.cfg.ClusterDomain)
		if len(fqdn) <= 64 {
			hostname = fqdn
		}
	}
	return hostname
}
