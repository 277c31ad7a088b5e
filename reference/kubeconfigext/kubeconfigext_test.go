package kubeconfigext_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/kubeconfigext"
)

// writeKubeconfig writes up's kubeconfig for a server, with info recorded when given.
func writeKubeconfig(t *testing.T, info *kubeconfigext.Cluster) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := apiserver.Kubeconfig("http://127.0.0.1:6443")
	if info != nil {
		if err := kubeconfigext.Set(cfg.Clusters[apiserver.KubeconfigContext], *info); err != nil {
			t.Fatal(err)
		}
	}
	if err := apiserver.WriteKubeconfigFile(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExtensionRoundTrip(t *testing.T) {
	info := kubeconfigext.Cluster{Kind: kubeconfigext.KindUp, DataDir: "/var/lib/ck",
		ContainerdAddresses: []string{"/var/lib/ck/containerd/containerd.sock"}}
	path := writeKubeconfig(t, &info)

	// Stock client-go loads it and ignores the extension.
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("client-go does not load the kubeconfig: %v", err)
	}
	if rc.Host != "http://127.0.0.1:6443" {
		t.Errorf("host %q", rc.Host)
	}
	got, ok, err := kubeconfigext.Load(path)
	if err != nil || !ok {
		t.Fatalf("Load: %+v, %v, %v", got, ok, err)
	}
	if !reflect.DeepEqual(got, info) {
		t.Errorf("Load = %+v, want %+v", got, info)
	}
	addrs, err := kubeconfigext.ContainerdAddresses(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(addrs, info.ContainerdAddresses) {
		t.Errorf("ContainerdAddresses = %q, want %q", addrs, info.ContainerdAddresses)
	}

	// The file is a v1 kubeconfig: the extension is a NamedExtension of the cluster entry.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Clusters []struct {
			Name    string
			Cluster struct {
				Server     string
				Extensions []struct {
					Name      string
					Extension map[string]any
				}
			}
		}
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Clusters) != 1 || len(doc.Clusters[0].Cluster.Extensions) != 1 {
		t.Fatalf("want one cluster with one extension:\n%s", data)
	}
	ext := doc.Clusters[0].Cluster.Extensions[0]
	if ext.Name != kubeconfigext.Name || ext.Extension["kind"] != "up" || ext.Extension["dataDir"] != "/var/lib/ck" {
		t.Errorf("extension %+v:\n%s", ext, data)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode: %v, %v", fi.Mode(), err)
	}
}

// TestKubectlKeepsTheExtension runs stock kubectl on the file: config view shows the
// extension and config set-context rewrites the file with it kept.
func TestKubectlKeepsTheExtension(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl on PATH")
	}
	info := kubeconfigext.Cluster{Kind: kubeconfigext.KindUp, ContainerdAddresses: []string{"/run/ck/containerd.sock"}}
	path := writeKubeconfig(t, &info)
	out, err := exec.Command(kubectl, "--kubeconfig", path, "config", "view",
		"-o", `jsonpath={.clusters[0].cluster.extensions[?(@.name=="`+kubeconfigext.Name+`")].extension.containerdAddresses[0]}`).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "/run/ck/containerd.sock" {
		t.Fatalf("kubectl config view: %v\n%s", err, out)
	}
	if out, err := exec.Command(kubectl, "--kubeconfig", path, "config", "set-context", "--current", "--namespace", "kube-system").CombinedOutput(); err != nil {
		t.Fatalf("kubectl config set-context: %v\n%s", err, out)
	}
	addrs, err := kubeconfigext.ContainerdAddresses(path)
	if err != nil || !reflect.DeepEqual(addrs, info.ContainerdAddresses) {
		t.Errorf("after kubectl rewrote the file: %q, %v", addrs, err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil || cfg.Contexts[cfg.CurrentContext].Namespace != "kube-system" {
		t.Errorf("kubectl's edit is not in the file: %v", err)
	}
}

func TestNoRecord(t *testing.T) {
	path := writeKubeconfig(t, nil)
	if _, ok, err := kubeconfigext.Load(path); ok || err != nil {
		t.Errorf("Load of a kubeconfig without the extension: ok=%v, err=%v", ok, err)
	}
	if addrs, err := kubeconfigext.ContainerdAddresses(path); len(addrs) != 0 || err != nil {
		t.Errorf("ContainerdAddresses = %q, %v; want none", addrs, err)
	}
	if _, err := kubeconfigext.ContainerdAddresses(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing kubeconfig gave no error")
	}
}

func TestRelativeAddressIsOfTheKubeconfigsDirectory(t *testing.T) {
	path := writeKubeconfig(t, &kubeconfigext.Cluster{Kind: kubeconfigext.KindUp, ContainerdAddresses: []string{"data/containerd.sock"}})
	addrs, err := kubeconfigext.ContainerdAddresses(path)
	want := []string{filepath.Join(filepath.Dir(path), "data", "containerd.sock")}
	if err != nil || !reflect.DeepEqual(addrs, want) {
		t.Errorf("ContainerdAddresses = %q, %v; want %q", addrs, err, want)
	}
}

func TestMalformedRecordIsAnError(t *testing.T) {
	path := writeKubeconfig(t, nil)
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clusters[apiserver.KubeconfigContext].Extensions = map[string]runtime.Object{
		kubeconfigext.Name: &runtime.Unknown{Raw: []byte(`{"containerdAddresses":"not a list"}`), ContentType: runtime.ContentTypeJSON},
	}
	if err := apiserver.WriteKubeconfigFile(path, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := kubeconfigext.ContainerdAddresses(path); err == nil || !strings.Contains(err.Error(), kubeconfigext.Name) {
		t.Errorf("a malformed record gave %v; want an error naming the extension", err)
	}
}
