package kindlab

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/pki"
)

// pkiDir is where the lab's control plane (`clusterkit up --data-dir DIR/data/etcd`) keeps the
// cluster's PKI.
func (l *Lab) pkiDir() string { return filepath.Join(l.Dir, "data", "etcd", "pki") }

// nodeKubeconfig is the kubeconfig of a node's kubelet (kubeadm's /etc/kubernetes/kubelet.conf).
func (l *Lab) nodeKubeconfig(node string) string {
	return filepath.Join(l.Dir, "data", node, "kubelet.kubeconfig")
}

// proxyKubeconfig is the kubeconfig of the nodes' service proxies (system:kube-proxy).
func (l *Lab) proxyKubeconfig() string { return filepath.Join(l.Dir, "data", "kube-proxy.kubeconfig") }

// writeIdentities makes the cluster's PKI before the control plane starts — with the API
// server certificate `up --address gateway` would make, so up reuses it — and writes a
// kubeconfig per kubelet (system:node:NAME in system:nodes, its serving certificate naming the
// node's IP) and one for the service proxies (system:kube-proxy). Every component then holds
// only its own identity, as on a kubeadm cluster; the admin kubeconfig stays the user's.
func (l *Lab) writeIdentities(apiServerIP string) error {
	opts := pki.Options{ServiceCIDR: l.ServiceCIDR, APIServerIPs: []net.IP{net.ParseIP(apiServerIP)}}
	// An HA control plane: every API server's address and the load balancer's, in one
	// serving certificate all of them use.
	for _, n := range l.ControlPlaneNodes() {
		opts.APIServerIPs = append(opts.APIServerIPs, net.ParseIP(n.IP))
		// A node container's host name is the node's: the one each API server adds.
		opts.APIServerNames = append(opts.APIServerNames, n.Name)
	}
	if l.LoadBalancerIP != "" {
		opts.APIServerIPs = append(opts.APIServerIPs, net.ParseIP(l.LoadBalancerIP))
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		opts.APIServerNames = append(opts.APIServerNames, host)
	}
	for _, n := range l.Nodes {
		opts.Nodes = append(opts.Nodes, pki.Node{Name: n.Name, IPs: []net.IP{net.ParseIP(n.IP)}})
	}
	b, err := pki.Ensure(l.pkiDir(), opts)
	if err != nil {
		return fmt.Errorf("the lab's PKI: %w", err)
	}
	for _, n := range l.Nodes {
		if err := l.writeNodeKubeconfig(b, n, b.Nodes[n.Name].Client); err != nil {
			return err
		}
	}
	cfg := apiserver.ClientKubeconfig(l.Server, b.CA.CertPEM, pki.ProxyUser, b.Proxy.CertPEM, b.Proxy.KeyPEM)
	if err := apiserver.WriteKubeconfigFile(l.proxyKubeconfig(), cfg); err != nil {
		return err
	}
	if l.LoadBalancerIP != "" {
		// The API servers each write their own; the user's names the load balancer.
		admin := apiserver.ClientKubeconfig(l.Server, b.CA.CertPEM, pki.AdminUser, b.Admin.CertPEM, b.Admin.KeyPEM)
		if err := apiserver.WriteKubeconfigFile(l.Kubeconfig, admin); err != nil {
			return err
		}
	}
	return l.writeControlPlane(b)
}
