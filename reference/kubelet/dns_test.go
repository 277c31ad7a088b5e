package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPodDNSConfig(t *testing.T) {
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("# node\nnameserver 192.0.2.53\nsearch example.org. lab.test\noptions edns0 ndots:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &Kubelet{cfg: Config{NodeName: "n", ResolvConf: resolv, ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", Logf: t.Logf}}
	pod := func(policy corev1.DNSPolicy, hostNet bool, dc *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"},
			Spec: corev1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: dc}}
	}
	show := func(p *corev1.Pod) string {
		c := k.podDNSConfig(p)
		return strings.Join(c.Servers, ",") + "|" + strings.Join(c.Searches, ",") + "|" + strings.Join(c.Options, ",")
	}
	cluster := "10.96.0.10|team.svc.cluster.local,svc.cluster.local,cluster.local,example.org,lab.test|ndots:5"
	node := "192.0.2.53|example.org,lab.test|edns0,ndots:1"
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		want string
	}{
		"ClusterFirst":                     {pod(corev1.DNSClusterFirst, false, nil), cluster},
		"ClusterFirst on the host network": {pod(corev1.DNSClusterFirst, true, nil), node},
		"ClusterFirstWithHostNet":          {pod(corev1.DNSClusterFirstWithHostNet, true, nil), cluster},
		"Default":                          {pod(corev1.DNSDefault, false, nil), node},
		"None": {pod(corev1.DNSNone, false, &corev1.PodDNSConfig{
			Nameservers: []string{"1.2.3.4"}, Searches: []string{"a.test"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "rotate"}},
		}), "1.2.3.4|a.test|ndots:2,rotate"},
		"ClusterFirst with dnsConfig": {pod(corev1.DNSClusterFirst, false, &corev1.PodDNSConfig{
			Nameservers: []string{"1.2.3.4", "10.96.0.10"}, Searches: []string{"cluster.local", "b.test"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("1")}},
		}), "10.96.0.10,1.2.3.4|team.svc.cluster.local,svc.cluster.local,cluster.local,example.org,lab.test,b.test|ndots:1"},
		"nameservers cut to 3": {pod(corev1.DNSNone, false, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"}}), "1.1.1.1,2.2.2.2,3.3.3.3||"},
	} {
		if got := show(tc.pod); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
	var many []string
	for i := range 40 {
		many = append(many, strings.Repeat("x", 60)+"."+string(rune('a'+i%26))+".test")
	}
	c := k.podDNSConfig(pod(corev1.DNSNone, false, &corev1.PodDNSConfig{Searches: many}))
	if len(c.Searches) > 32 || len(strings.Join(c.Searches, " ")) > 2048 {
		t.Errorf("search line not cut: %d domains, %d chars", len(c.Searches), len(strings.Join(c.Searches, " ")))
	}

	noDNS := &Kubelet{cfg: Config{NodeName: "n", ResolvConf: resolv, Logf: t.Logf}}
	if c := noDNS.podDNSConfig(pod(corev1.DNSClusterFirst, false, nil)); strings.Join(c.Servers, ",") != "192.0.2.53" {
		t.Errorf("without cluster DNS ClusterFirst falls back to the node's: %v", c)
	}
}

func TestPodHostname(t *testing.T) {
	k := &Kubelet{cfg: Config{ClusterDomain: "cluster.local", Logf: t.Logf}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 62) + "-b", Namespace: "ns"}}
	if h := k.podHostname(p); h != strings.Repeat("a", 62) {
		t.Errorf("long name: %q", h)
	}
	p.Spec.Hostname, p.Spec.Subdomain, p.Spec.SetHostnameAsFQDN = "web-0", "web", ptr.To(true)
	if h := k.podHostname(p); h != "web-0.web.ns.svc.cluster.local" {
		t.Errorf("fqdn: %q", h)
	}
}
