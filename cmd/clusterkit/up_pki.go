package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/pki"
)

// upAccess is how up's clients reach its API server: the HTTPS URL and the cluster's PKI.
type upAccess struct {
	url string
	pki *pki.Bundle
}

// rest returns a client configuration acting as id (a client certificate of the PKI).
func (a upAccess) rest(id pki.KeyPair) *rest.Config {
	rc := a.pki.RESTConfig(a.url, id)
	rc.QPS = -1
	return rc
}

// upNodeNames are the names of up's nodes: node-1 … node-N.
func upNodeNames(n int) []string {
	names := make([]string, max(n, 0))
	for i := range names {
		names[i] = fmt.Sprintf("node-%d", i+1)
	}
	return names
}

// upNodeIP is the address of up's i-th worker node (node-(i+1)): 127.1.0.1, 127.1.0.2, … —
// every node its own loopback address (Linux answers on all of 127.0.0.0/8), where its kubelet
// listens and its host-network pods are; the control-plane node has the API server's address.
func upNodeIP(i int) net.IP {
	a := uint32(127)<<24 | uint32(1)<<16 + uint32(i%65534) + 1
	return net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
}

// ensureUpPKI makes (or reuses) the cluster's PKI in DATA-DIR/pki: the API server's serving
// certificate names the listen address (every interface address when it listens on all), the
// host name and localhost; every node gets its kubelet certificates.
func ensureUpPKI(o *upOptions, address string) (*pki.Bundle, error) {
	opts := pki.Options{ServiceCIDR: o.serviceCIDR}
	if o.serviceCIDR == "" {
		opts.ServiceCIDR = apiserver.DefaultServiceCIDR
	}
	ip := net.ParseIP(address)
	switch {
	case ip == nil:
		opts.APIServerNames = append(opts.APIServerNames, address)
	case ip.IsUnspecified():
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					opts.APIServerIPs = append(opts.APIServerIPs, n.IP)
				}
			}
		}
	default:
		opts.APIServerIPs = append(opts.APIServerIPs, ip)
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		opts.APIServerNames = append(opts.APIServerNames, host)
	}
	for i, name := range upNodeNames(o.nodes) {
		opts.Nodes = append(opts.Nodes, pki.Node{Name: name, IPs: []net.IP{upNodeIP(i), net.IPv4(127, 0, 0, 1)}, Hostnames: []string{"localhost"}})
	}
	if o.controlPlaneNode {
		ips := []net.IP{net.IPv4(127, 0, 0, 1)}
		if ip != nil && !ip.IsUnspecified() && !ip.Equal(ips[0]) {
			ips = append(ips, ip)
		}
		opts.Nodes = append(opts.Nodes, pki.Node{Name: upControlPlaneNodeName(), IPs: ips, Hostnames: []string{"localhost"}})
	}
	b, err := pki.Ensure(filepath.Join(o.dataDir, "pki"), opts)
	if err != nil {
		return nil, fmt.Errorf("the cluster's PKI: %w", err)
	}
	return b, nil
}
