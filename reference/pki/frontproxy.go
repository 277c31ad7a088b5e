package pki

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// FrontProxyClientUser is the common name of the API server's client certificate towards
// extension API servers (kubeadm's front-proxy-client), the one name extension servers
// accept request headers from (requestheader-allowed-names).
const FrontProxyClientUser = "front-proxy-client"

// FrontProxyCerts are the API aggregation layer's certificates, as kubeadm lays them out: a CA
// of its own (kubeadm's front-proxy-ca, kept here in front-proxy/ca.*) that extension API
// servers trust for the X-Remote-* request headers (requestheader-client-ca-file), and the
// client certificate it signed (front-proxy-client.*, next to the cluster's) the API server
// presents when it proxies.
type FrontProxyCerts struct {
	CA     KeyPair
	Client KeyPair
}

// EnsureFrontProxy returns the front-proxy PKI kept in dir (the cluster's PKI directory, as
// Ensure's), making the CA and the client certificate when missing or no longer fitting.
func EnsureFrontProxy(dir string, opts Options) (FrontProxyCerts, error) {
	if opts.Validity <= 0 {
		opts.Validity = DefaultCertValidity
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	caDir := filepath.Join(dir, "front-proxy")
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		return FrontProxyCerts{}, fmt.Errorf("pki: creating %s: %w", caDir, err)
	}
	ca := &Bundle{Dir: caDir, opts: opts, caName: "front-proxy-ca"}
	if err := ca.ensureCA(); err != nil {
		return FrontProxyCerts{}, fmt.Errorf("front-proxy: %w", err)
	}
	client, err := ca.ensureAt(filepath.Join(dir, "front-proxy-client.crt"), filepath.Join(dir, "front-proxy-client.key"),
		request{cn: FrontProxyClientUser})
	if err != nil {
		return FrontProxyCerts{}, err
	}
	return FrontProxyCerts{CA: ca.CA, Client: client}, nil
}
