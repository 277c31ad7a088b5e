package pki_test

import (
	"crypto/x509"
	"path/filepath"
	"testing"

	"github.com/clusterkit/clusterkit/reference/pki"
)

func TestEtcdCertificates(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, dir, pki.Options{})
	e := b.Etcd
	if e.CA.Cert.Subject.CommonName != "etcd-ca" || !e.CA.Cert.IsCA {
		t.Errorf("etcd CA: %v (CA %v)", e.CA.Cert.Subject, e.CA.Cert.IsCA)
	}
	if e.CA.Cert.Equal(b.CA.Cert) {
		t.Fatal("etcd's CA is the cluster CA; kubeadm keeps a separate etcd/ca")
	}
	want := map[string]string{
		e.CA.CertFile: filepath.Join(dir, "etcd", "ca.crt"), e.Server.CertFile: filepath.Join(dir, "etcd", "server.crt"),
		e.Peer.CertFile: filepath.Join(dir, "etcd", "peer.crt"), e.APIServerClient.CertFile: filepath.Join(dir, "apiserver-etcd-client.crt"),
	}
	for got, w := range want {
		if got != w {
			t.Errorf("file %s, want %s", got, w)
		}
	}
	for _, kp := range []pki.KeyPair{e.Server, e.Peer} {
		for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
			for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := kp.Cert.Verify(x509.VerifyOptions{Roots: e.CAPool(), DNSName: name, KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
					t.Errorf("%s for %s, usage %v: %v", kp.CertFile, name, u, err)
				}
			}
		}
	}
	c := e.APIServerClient.Cert
	if c.Subject.CommonName != pki.EtcdAPIServerClientUser {
		t.Errorf("the API server's etcd client is %q", c.Subject.CommonName)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: e.CAPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the API server's etcd client certificate: %v", err)
	}
	// etcd trusts only its own CA: the cluster's client certificates are not etcd clients.
	if _, err := b.Admin.Cert.Verify(x509.VerifyOptions{Roots: e.CAPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the admin's certificate verifies against etcd's CA")
	}

	// Reused on restart; EnsureEtcd alone finds the same files.
	again, err := pki.EnsureEtcd(dir, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]pki.KeyPair{{e.CA, again.CA}, {e.Server, again.Server}, {e.Peer, again.Peer}, {e.APIServerClient, again.APIServerClient}} {
		if !p[0].Cert.Equal(p[1].Cert) {
			t.Errorf("%s was issued again on restart", p[0].CertFile)
		}
	}
	if b2 := ensure(t, dir, pki.Options{}); !b2.Etcd.Server.Cert.Equal(e.Server.Cert) || !b2.CA.Cert.Equal(b.CA.Cert) {
		t.Error("Ensure issued etcd's or the cluster's certificates again on restart")
	}
}
