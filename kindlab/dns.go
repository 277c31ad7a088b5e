package kindlab

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/reference/dns"
)

// ClusterDomain is the lab's cluster domain, kubeadm's.
const ClusterDomain = dns.DefaultDomain

// clusterDNSIP is the address of the lab's cluster DNS Service (the Service CIDR's 10th).
func (l *Lab) clusterDNSIP() (string, error) {
	a, err := dns.ClusterDNSIP(l.ServiceCIDR)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// installDNS installs the cluster DNS add-on (Deployment coredns behind Service kube-dns in
// kube-system) once the nodes are Ready, as kubeadm does after its control plane is up; it
// does not wait for the DNS pods.
func (l *Lab) installDNS(ctx context.Context, client kubernetes.Interface, say func(string, ...any)) error {
	ip, err := l.clusterDNSIP()
	if err != nil {
		return err
	}
	if err := dns.Install(ctx, client, dns.AddonConfig{Image: images.DNSImage, ClusterIP: ip, Domain: ClusterDomain}); err != nil {
		return fmt.Errorf("installing cluster DNS: %w", err)
	}
	say("cluster DNS add-on installed: Deployment kube-system/coredns, Service kube-dns at %s", ip)
	return nil
}
