package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// TestUpIsClosed checks the API server of `up`: HTTPS only, anonymous requests rejected except
// on the public-info endpoints, the kubeconfig's admin certificate accepted, the PKI kept in the
// data dir with private files.
func TestUpIsClosed(t *testing.T) {
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0, nodes: 1, runtime: "sim", controllers: []string{"none"}, scheduler: "none"}
	client, stop := startUp(t, o)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("the admin kubeconfig: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Host, "https://") || len(cfg.CAData) == 0 || len(cfg.CertData) == 0 {
		t.Fatalf("the kubeconfig: host %s, CA %d bytes, client certificate %d bytes", cfg.Host, len(cfg.CAData), len(cfg.CertData))
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cfg.CAData)
	anon := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for path, want := range map[string]int{"/api/v1/pods": 401, "/api/v1/namespaces/default/configmaps": 401, "/healthz": 200, "/version": 200} {
		resp, err := anon.Get(cfg.Host + path)
		if err != nil {
			t.Fatalf("anonymous GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("anonymous GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	if resp, err := http.Get(strings.Replace(cfg.Host, "https://", "http://", 1) + "/api/v1/pods"); err == nil {
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Errorf("plain HTTP answered %s", resp.Status)
		}
	}
	for _, f := range []string{"ca.key", "ca.crt", "apiserver.key", "sa.key", "nodes/node-1/kubelet-client.key"} {
		info, err := os.Stat(filepath.Join(o.dataDir, "pki", f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
		} else if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", f, info.Mode().Perm())
		}
	}
}
