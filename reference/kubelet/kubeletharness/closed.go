package kubeletharness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/closed"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/pki"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// ClosedCluster is an API server closed as clusterkit up closes it — HTTPS with a PKI of its
// own, client certificates and ServiceAccount tokens (TokenRequest, TokenReview), the built-in
// authorizers with the components' stand-in (authz.SystemComponents) — that reaches kubelets
// over HTTPS as kube-apiserver-kubelet-client, verifying their serving certificates against
// the cluster CA.
type ClosedCluster struct {
	// Admin is kubernetes-admin (system:masters) by client certificate.
	Admin *rest.Config
	// PKI is the cluster's PKI; NodeKubelet issues a node's certificates from it.
	PKI *pki.Bundle
	// URL is the API server's https URL.
	URL string
}

// StartClosedCluster starts a ClosedCluster on a memory store, its PKI in dir, and returns it
// with its stop function.
func StartClosedCluster(ctx context.Context, dir string) (*ClosedCluster, func(), error) {
	bundle, err := pki.Ensure(filepath.Join(dir, "pki"), pki.Options{})
	if err != nil {
		return nil, nil, err
	}
	tlsConfig, err := bundle.ServingTLSConfig()
	if err != nil {
		return nil, nil, err
	}
	kubeletClient, err := bundle.APIServerKubeletClient.TLSCertificate()
	if err != nil {
		return nil, nil, err
	}
	kv := memory.New()
	// The API server closed as clusterkit up closes it (Node and RBAC authorization,
	// NodeRestriction, ServiceAccount tokens), without Pod Security: the kubelet specs label
	// their namespaces for what they run.
	comp, err := closed.New(closed.Options{PKI: bundle, Store: kv, IssuerURL: harness.TokenIssuerURL})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	tcp := ln.Addr().(*net.TCPAddr)
	addr, _ := netip.AddrFromSlice(tcp.IP)
	srvCfg := apiserver.Config{
		Store: kv, AdvertiseAddress: addr.Unmap(), AdvertisePort: tcp.Port, TLS: tlsConfig,
		NodeConnection: apiserver.KubeletTLSConnection(bundle.CAPool(), kubeletClient),
	}
	comp.Configure(&srvCfg)
	srv, err := apiserver.New(srvCfg)
	if err != nil {
		_ = ln.Close()
		return nil, nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	stopAll := func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver stopped with: %v\n", err)
		}
	}
	if err := srv.Bootstrap(ctx); err != nil {
		stopAll()
		return nil, nil, err
	}
	url := "https://" + ln.Addr().String()
	admin := bundle.RESTConfig(url, bundle.Admin)
	admin.QPS = -1
	if err := comp.Start(sctx, rest.CopyConfig(admin)); err != nil {
		stopAll()
		return nil, nil, err
	}
	return &ClosedCluster{Admin: admin, PKI: bundle, URL: url}, stopAll, nil
}

// NodeKubelet issues node's certificates (serving for 127.0.0.1 and localhost) and returns
// the kubelet's client configuration (system:node:NAME by client certificate) and cfg with
// the locked kubelet API: the serving certificate, the cluster CA as client CA, anonymous
// requests refused and Webhook authorization.
func (c *ClosedCluster) NodeKubelet(node string, cfg kubelet.Config) (*rest.Config, kubelet.Config, error) {
	certs, err := c.PKI.EnsureNode(pki.Node{Name: node, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Hostnames: []string{"localhost"}})
	if err != nil {
		return nil, cfg, err
	}
	serving, err := certs.Serving.TLSCertificate()
	if err != nil {
		return nil, cfg, err
	}
	cfg.TLSCertificate = &serving
	cfg.ClientCA = c.PKI.CA.CertPEM
	rc := c.PKI.RESTConfig(c.URL, certs.Client)
	rc.QPS = -1
	return rc, cfg, nil
}
