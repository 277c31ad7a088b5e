package rbac_test

import (
	"context"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestKubectlAuthCanI drives the real kubectl against the closed server: kubectl create
// role/rolebinding, kubectl auth can-i (with --as impersonation) and can-i --list.
func TestKubectlAuthCanI(t *testing.T) {
	kubectlPath := kubectltest.Path(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	srv, err := harness.InProcessRBAC(harness.MemoryStore()).Connect(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	// kubectl sends no bearer token over plain HTTP: reach the server through a TLS proxy.
	target, err := url.Parse(srv.Admin.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer proxy.Close()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: proxy.URL, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: srv.Admin.BearerToken}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "admin"}
	cfg.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		full := append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(dir, "cache")}, args...)
		out, err := exec.CommandContext(ctx, kubectlPath, full...).CombinedOutput()
		t.Logf("$ kubectl %s\n%s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out)), err
	}
	expect := func(want string, args ...string) {
		t.Helper()
		out, _ := run(args...)
		if out != want {
			t.Errorf("kubectl %s: got %q, want %q", strings.Join(args, " "), out, want)
		}
	}
	expect("yes", "auth", "can-i", "create", "pods")
	expect("no", "auth", "can-i", "create", "pods", "--as=system:serviceaccount:default:default")
	if out, err := run("create", "role", "pod-reader", "-n", "default", "--verb=get,list", "--resource=pods"); err != nil {
		t.Fatalf("create role: %v: %s", err, out)
	}
	if out, err := run("create", "rolebinding", "bob-reads", "-n", "default", "--role=pod-reader", "--user=bob"); err != nil {
		t.Fatalf("create rolebinding: %v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := run("auth", "can-i", "list", "pods", "-n", "default", "--as=bob")
		if out == "yes" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	expect("yes", "auth", "can-i", "list", "pods", "-n", "default", "--as=bob")
	expect("no", "auth", "can-i", "list", "pods", "-n", "kube-system", "--as=bob")
	expect("no", "auth", "can-i", "delete", "pods", "-n", "default", "--as=bob")
	out, err := run("auth", "can-i", "--list", "-n", "default", "--as=bob")
	if err != nil || !strings.Contains(out, "pods") || !strings.Contains(out, "[get list]") {
		t.Errorf("auth can-i --list as bob: %v\n%s", err, out)
	}
	out, err = run("get", "clusterroles")
	if err != nil || !strings.Contains(out, "cluster-admin") {
		t.Errorf("get clusterroles: %v\n%s", err, out)
	}
	out, err = run("get", "rolebindings", "-n", "default", "-o", "wide")
	if err != nil || !strings.Contains(out, "Role/pod-reader") {
		t.Errorf("get rolebindings: %v\n%s", err, out)
	}
	if out, err := run("get", "pods", "-n", "default", "--as=mallory"); err == nil || !strings.Contains(out, `User "mallory" cannot list resource "pods"`) {
		t.Errorf("get pods as mallory: want forbidden, got %v\n%s", err, out)
	}
}
