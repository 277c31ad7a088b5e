package pki_test

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/util/keyutil"

	"github.com/clusterkit/clusterkit/reference/pki"
)

func ensure(t *testing.T, dir string, opts pki.Options) *pki.Bundle {
	t.Helper()
	b, err := pki.Ensure(dir, opts)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return b
}

func verify(t *testing.T, b *pki.Bundle, kp pki.KeyPair, usage x509.ExtKeyUsage, dnsName string) {
	t.Helper()
	if _, err := kp.Cert.Verify(x509.VerifyOptions{Roots: b.CAPool(), KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: dnsName}); err != nil {
		t.Errorf("%s does not verify against the CA: %v", kp.Cert.Subject, err)
	}
}

func TestServingCertificateSANs(t *testing.T) {
	b := ensure(t, t.TempDir(), pki.Options{
		APIServerIPs:   []net.IP{net.ParseIP("192.0.2.10")},
		APIServerNames: []string{"cp.example"},
	})
	for _, name := range []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "cp.example"} {
		verify(t, b, b.APIServer, x509.ExtKeyUsageServerAuth, name)
	}
	for _, ip := range []string{"127.0.0.1", "10.96.0.1", "192.0.2.10"} {
		verify(t, b, b.APIServer, x509.ExtKeyUsageServerAuth, ip)
	}
	if _, err := b.APIServer.Cert.Verify(x509.VerifyOptions{Roots: b.CAPool(), DNSName: "other.example"}); err == nil {
		t.Error("the serving certificate is valid for other.example")
	}
	b2 := ensure(t, t.TempDir(), pki.Options{ServiceCIDR: "10.100.0.0/16", ClusterDomain: "corp.local"})
	verify(t, b2, b2.APIServer, x509.ExtKeyUsageServerAuth, "10.100.0.1")
	verify(t, b2, b2.APIServer, x509.ExtKeyUsageServerAuth, "kubernetes.default.svc.corp.local")
}

func TestClientIdentities(t *testing.T) {
	b := ensure(t, t.TempDir(), pki.Options{Nodes: []pki.Node{{Name: "node-a", IPs: []net.IP{net.ParseIP("192.0.2.21")}, Hostnames: []string{"node-a.example"}}}})
	cases := []struct {
		kp   pki.KeyPair
		cn   string
		orgs []string
	}{
		{b.Admin, "kubernetes-admin", []string{"system:masters"}},
		{b.Scheduler, "system:kube-scheduler", nil},
		{b.ControllerManager, "system:kube-controller-manager", nil},
		{b.Proxy, "system:kube-proxy", nil},
		{b.APIServerKubeletClient, "kube-apiserver-kubelet-client", []string{"system:masters"}},
		{b.Nodes["node-a"].Client, "system:node:node-a", []string{"system:nodes"}},
	}
	for _, c := range cases {
		if c.kp.Cert == nil {
			t.Fatalf("no certificate for %s", c.cn)
		}
		if c.kp.Cert.Subject.CommonName != c.cn || !slices.Equal(c.kp.Cert.Subject.Organization, c.orgs) {
			t.Errorf("subject %v, want CN=%s O=%v", c.kp.Cert.Subject, c.cn, c.orgs)
		}
		verify(t, b, c.kp, x509.ExtKeyUsageClientAuth, "")
		if _, err := c.kp.TLSCertificate(); err != nil {
			t.Errorf("%s: %v", c.cn, err)
		}
	}
	serving := b.Nodes["node-a"].Serving
	for _, name := range []string{"node-a", "node-a.example", "192.0.2.21"} {
		verify(t, b, serving, x509.ExtKeyUsageServerAuth, name)
	}
	if _, err := b.Admin.Cert.Verify(x509.VerifyOptions{Roots: b.CAPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("the admin client certificate is valid for serving")
	}
	keys, err := keyutil.PublicKeysFromFile(b.ServiceAccountPublicKeyFile)
	if err != nil || len(keys) != 1 {
		t.Fatalf("sa.pub: %v %v", keys, err)
	}
	if b.ServiceAccountKey.N.BitLen() != 2048 {
		t.Errorf("sa.key has %d bits, want 2048", b.ServiceAccountKey.N.BitLen())
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ensure(t, dir, pki.Options{Nodes: []pki.Node{{Name: "n1"}}})
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReuse(t *testing.T) {
	dir := t.TempDir()
	first := ensure(t, dir, pki.Options{})
	again := ensure(t, dir, pki.Options{})
	for _, p := range [][2]pki.KeyPair{{first.CA, again.CA}, {first.APIServer, again.APIServer}, {first.Admin, again.Admin}, {first.Scheduler, again.Scheduler}} {
		if !p[0].Cert.Equal(p[1].Cert) || string(p[0].KeyPEM) != string(p[1].KeyPEM) {
			t.Errorf("%s was issued again", p[0].Cert.Subject)
		}
	}
	if !first.ServiceAccountKey.Equal(again.ServiceAccountKey) {
		t.Error("sa.key was made again")
	}
	// A new listen address: the serving certificate is issued again by the same CA.
	wider := ensure(t, dir, pki.Options{APIServerIPs: []net.IP{net.ParseIP("192.0.2.99")}})
	if !wider.CA.Cert.Equal(first.CA.Cert) {
		t.Error("the CA changed")
	}
	if wider.APIServer.Cert.Equal(first.APIServer.Cert) {
		t.Error("the serving certificate was not issued again for a new address")
	}
	verify(t, wider, wider.APIServer, x509.ExtKeyUsageServerAuth, "192.0.2.99")
	if !wider.Admin.Cert.Equal(first.Admin.Cert) {
		t.Error("the admin certificate was issued again")
	}
	// A certificate not signed by the CA is replaced.
	other := ensure(t, t.TempDir(), pki.Options{})
	if err := os.WriteFile(first.Admin.CertFile, other.Admin.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first.Admin.KeyFile, other.Admin.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	fixed := ensure(t, dir, pki.Options{})
	verify(t, fixed, fixed.Admin, x509.ExtKeyUsageClientAuth, "")
}

func TestRejectsBadNodeName(t *testing.T) {
	if _, err := pki.Ensure(t.TempDir(), pki.Options{Nodes: []pki.Node{{Name: "../escape"}}}); err == nil {
		t.Error("a node name with a path was accepted")
	}
}
