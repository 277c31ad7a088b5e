package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/clusterkit/clusterkit/reference/pki"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// etcdClientFiles are kube-apiserver's --etcd-cafile, --etcd-certfile and --etcd-keyfile: how
// to reach an external etcd that speaks TLS.
type etcdClientFiles struct {
	caFile, certFile, keyFile string
}

func (f *etcdClientFiles) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.caFile, "etcd-cafile", "", "with --etcd-endpoints: the CA that signed etcd's serving certificate (as kube-apiserver's flag)")
	fs.StringVar(&f.certFile, "etcd-certfile", "", "with --etcd-endpoints: the client certificate presented to etcd (as kube-apiserver's flag)")
	fs.StringVar(&f.keyFile, "etcd-keyfile", "", "with --etcd-endpoints: the key of --etcd-certfile (as kube-apiserver's flag)")
}

func (f etcdClientFiles) empty() bool { return f == etcdClientFiles{} }

// externalEtcdConfig is the store's configuration for the etcd cluster at endpoints, with TLS
// when any of the files is given.
func externalEtcdConfig(endpoints []string, f etcdClientFiles) (etcdstore.Config, error) {
	cfg := etcdstore.Config{Endpoints: endpoints}
	if f.empty() {
		return cfg, nil
	}
	tlsConfig, err := etcdstore.ClientTLS(f.caFile, f.certFile, f.keyFile)
	if err != nil {
		return etcdstore.Config{}, err
	}
	cfg.TLS = tlsConfig
	return cfg, nil
}

// embeddedEtcdConfig is the store's configuration for the embedded etcd on dataDir, serving
// HTTPS only and requiring client certificates, with etcd's PKI kept in (or made in) pkiDir:
// etcd/ca, etcd/server, etcd/peer and the API server's apiserver-etcd-client, as kubeadm's.
func embeddedEtcdConfig(dataDir, pkiDir string) (etcdstore.Config, error) {
	certs, err := pki.EnsureEtcd(pkiDir, pki.Options{})
	if err != nil {
		return etcdstore.Config{}, fmt.Errorf("etcd's PKI: %w", err)
	}
	tlsConfig, err := etcdstore.ClientTLS(certs.CA.CertFile, certs.APIServerClient.CertFile, certs.APIServerClient.KeyFile)
	if err != nil {
		return etcdstore.Config{}, err
	}
	return etcdstore.Config{
		DataDir: dataDir,
		TLS:     tlsConfig,
		ServerTLS: &etcdstore.ServerTLS{
			CertFile: certs.Server.CertFile, KeyFile: certs.Server.KeyFile,
			PeerCertFile: certs.Peer.CertFile, PeerKeyFile: certs.Peer.KeyFile,
			TrustedCAFile: certs.CA.CertFile,
		},
	}, nil
}

// upEtcdConfig is how up opens etcd: the external cluster of --etcd-endpoints (with the
// --etcd-* TLS files), or the embedded etcd on DATA-DIR with TLS and client-certificate
// authentication from DATA-DIR/pki (the cluster's PKI directory).
func upEtcdConfig(o *upOptions) (etcdstore.Config, error) {
	if len(o.etcdEndpoints) > 0 {
		return externalEtcdConfig(o.etcdEndpoints, o.etcdTLS)
	}
	if !o.etcdTLS.empty() {
		return etcdstore.Config{}, errors.New("--etcd-cafile, --etcd-certfile and --etcd-keyfile are for --etcd-endpoints; the embedded etcd uses the certificates in DATA-DIR/pki/etcd")
	}
	return embeddedEtcdConfig(o.dataDir, filepath.Join(o.dataDir, "pki"))
}
