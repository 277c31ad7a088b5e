package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/clusterkit/clusterkit/reference/pki"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// TestEtcdClientFlags runs an etcd with client TLS as an "external" one and reaches it as up
// and `etcd snapshot save` do with --etcd-endpoints and --etcd-cafile/certfile/keyfile.
func TestEtcdClientFlags(t *testing.T) {
	dir := t.TempDir()
	pkiDir := filepath.Join(dir, "pki")
	cfg, err := embeddedEtcdConfig(filepath.Join(dir, "etcd"), pkiDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.UnsafeNoFsync = true
	etcd, err := etcdstore.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	if _, err := etcd.Create(t.Context(), "/k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	endpoints := etcd.Embedded().Endpoints()
	certs, err := pki.EnsureEtcd(pkiDir, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := etcdClientFiles{caFile: certs.CA.CertFile, certFile: certs.APIServerClient.CertFile, keyFile: certs.APIServerClient.KeyFile}

	o := &upOptions{dataDir: filepath.Join(dir, "up"), etcdEndpoints: endpoints, etcdTLS: files}
	ucfg, err := upEtcdConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	s, err := etcdstore.Open(t.Context(), ucfg)
	if err != nil {
		t.Fatalf("up's store with --etcd-cafile/certfile/keyfile: %v", err)
	}
	if _, err := s.Get(t.Context(), "/k"); err != nil {
		t.Errorf("up's store with the etcd client flags: %v", err)
	}
	_ = s.Close()

	o.etcdTLS = etcdClientFiles{caFile: certs.CA.CertFile}
	if ucfg, err = upEtcdConfig(o); err != nil {
		t.Fatal(err)
	}
	ucfg.DialTimeout = 2e9
	if s, err := etcdstore.Open(t.Context(), ucfg); err == nil {
		_ = s.Close()
		t.Error("up reached etcd with client TLS without a client certificate")
	}

	o.etcdEndpoints = nil
	if _, err := upEtcdConfig(o); err == nil {
		t.Error("--etcd-cafile without --etcd-endpoints was accepted")
	}

	file := filepath.Join(dir, "backup.db")
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"etcd", "snapshot", "save", file, "--etcd-endpoints", endpoints[0],
		"--etcd-cafile", files.caFile, "--etcd-certfile", files.certFile, "--etcd-keyfile", files.keyFile})
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("etcd snapshot save with the etcd client flags: %v\n%s", err, out.String())
	}
}
