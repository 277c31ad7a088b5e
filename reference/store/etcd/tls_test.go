package etcdstore_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/clusterkit/clusterkit/reference/pki"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// tlsConfig is the store's configuration for an embedded etcd with client TLS from the
// etcd PKI kept in pkiDir.
func tlsConfig(t *testing.T, dataDir, pkiDir string) (etcdstore.Config, pki.EtcdCerts) {
	t.Helper()
	certs, err := pki.EnsureEtcd(pkiDir, pki.Options{})
	if err != nil {
		t.Fatalf("EnsureEtcd: %v", err)
	}
	client, err := etcdstore.ClientTLS(certs.CA.CertFile, certs.APIServerClient.CertFile, certs.APIServerClient.KeyFile)
	if err != nil {
		t.Fatalf("ClientTLS: %v", err)
	}
	return etcdstore.Config{
		DataDir: dataDir, UnsafeNoFsync: true, TLS: client,
		ServerTLS: &etcdstore.ServerTLS{
			CertFile: certs.Server.CertFile, KeyFile: certs.Server.KeyFile,
			PeerCertFile: certs.Peer.CertFile, PeerKeyFile: certs.Peer.KeyFile,
			TrustedCAFile: certs.CA.CertFile,
		},
	}, certs
}

func openTLS(t *testing.T, cfg etcdstore.Config) *etcdstore.Store {
	t.Helper()
	s, err := etcdstore.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open with TLS: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// refused says whether a client with tlsConfig (nil: plain gRPC) gets no answer from endpoints.
func refused(t *testing.T, endpoints []string, tlsConfig *tls.Config) error {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tlsConfig, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err = c.Get(ctx, "/")
	return err
}

func TestEmbeddedTLSRequiresClientCertificate(t *testing.T) {
	dir := t.TempDir()
	cfg, certs := tlsConfig(t, filepath.Join(dir, "etcd"), filepath.Join(dir, "pki"))
	s := openTLS(t, cfg)
	mustCreate(t, s, "/with-cert", "ok")
	endpoints := s.Embedded().Endpoints()

	noCert, err := etcdstore.ClientTLS(certs.CA.CertFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := refused(t, endpoints, noCert); err == nil {
		t.Error("a client without a certificate read from the embedded etcd")
	}

	// A certificate from another CA (the cluster's, not etcd's) is refused too.
	other, err := pki.Ensure(filepath.Join(dir, "other"), pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := etcdstore.ClientTLS(certs.CA.CertFile, other.Admin.CertFile, other.Admin.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := refused(t, endpoints, foreign); err == nil {
		t.Error("a client with a certificate of another CA read from the embedded etcd")
	}

	if err := refused(t, endpoints, nil); err == nil {
		t.Error("a plain-text gRPC client read from the embedded etcd")
	}

	// The store's own client, and any client with a certificate of etcd's CA, is served.
	if err := refused(t, endpoints, cfg.TLS); err != nil {
		t.Errorf("a client with the API server's etcd client certificate: %v", err)
	}
}

func TestEmbeddedTLSServesNoPlainHTTP(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := tlsConfig(t, filepath.Join(dir, "etcd"), filepath.Join(dir, "pki"))
	s := openTLS(t, cfg)
	e := s.Embedded()
	plain := &http.Client{Timeout: 2 * time.Second}
	noCert := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cfg.TLS.RootCAs}}}
	withCert := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg.TLS.Clone()}}
	for _, ep := range append(e.Endpoints(), e.PeerEndpoints()...) {
		for _, path := range []string{"/health", "/version", "/members"} {
			if resp, err := plain.Get("http://" + ep + path); err == nil {
				resp.Body.Close()
				t.Errorf("plain HTTP GET %s%s answered %s", ep, path, resp.Status)
			}
			if resp, err := noCert.Get("https://" + ep + path); err == nil {
				resp.Body.Close()
				t.Errorf("HTTPS GET %s%s without a client certificate answered %s", ep, path, resp.Status)
			}
		}
	}
	for _, ep := range e.Endpoints() {
		resp, err := withCert.Get("https://" + ep + "/health")
		if err != nil {
			t.Fatalf("HTTPS GET %s/health with the client certificate: %v", ep, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HTTPS GET %s/health with the client certificate: %s", ep, resp.Status)
		}
	}
}

func TestEmbeddedTLSRestart(t *testing.T) {
	dir := t.TempDir()
	dataDir, pkiDir := filepath.Join(dir, "etcd"), filepath.Join(dir, "pki")

	// A data directory made before TLS keeps its data when reopened with TLS, and again after
	// a restart with the PKI reused.
	plain, err := etcdstore.Open(t.Context(), etcdstore.Config{DataDir: dataDir, UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, plain, "/before-tls", "1")
	if err := plain.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		cfg, certs := tlsConfig(t, dataDir, pkiDir)
		s, err := etcdstore.Open(t.Context(), cfg)
		if err != nil {
			t.Fatalf("open %d with TLS: %v", i, err)
		}
		if _, err := s.Get(t.Context(), "/before-tls"); err != nil {
			t.Errorf("open %d: %v", i, err)
		}
		if i == 0 {
			mustCreate(t, s, "/with-tls", "1")
		} else if _, err := s.Get(t.Context(), "/with-tls"); err != nil {
			t.Errorf("open %d: %v", i, err)
		}
		if !strings.HasPrefix(certs.Server.Cert.Issuer.CommonName, "etcd-ca") {
			t.Errorf("etcd's server certificate is issued by %q", certs.Server.Cert.Issuer.CommonName)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEmbeddedTLSNeedsClientTLS(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := tlsConfig(t, filepath.Join(dir, "etcd"), filepath.Join(dir, "pki"))
	cfg.TLS = nil
	if s, err := etcdstore.Open(t.Context(), cfg); err == nil {
		_ = s.Close()
		t.Fatal("Open with server TLS and no client TLS succeeded")
	}
}
