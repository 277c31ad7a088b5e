package kindlab

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportLogsCopiesLogsOnly: from a lab directory as node agents leave it, ExportLogs copies
// the record, each node's agent and containerd logs and its container logs — never the
// volumes beside them (a ServiceAccount token) — and, with the API server down, still writes
// all of that and names what it could not read.
func TestExportLogsCopiesLogsOnly(t *testing.T) {
	labDir, out := t.TempDir(), filepath.Join(t.TempDir(), "export")
	// An address nothing listens on: the API server is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := "https://" + ln.Addr().String()
	_ = ln.Close()
	kubeconfig := filepath.Join(labDir, "kubeconfig")
	write(t, kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: "+server+"\n    insecure-skip-tls-verify: true\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\ncurrent-context: lab\nusers:\n- name: lab\n  user:\n    token: abc\n")
	l := &Lab{Name: "x", Dir: labDir, Kubeconfig: kubeconfig, Nodes: []Node{{Name: "x-node-1"}, {Name: "x-control-plane", ControlPlane: true}}}
	if err := l.save(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(labDir, "logs", "x-node-1.log"), "kubelet of x-node-1 running\n")
	write(t, filepath.Join(labDir, "logs", "x-control-plane.log"), "static pods\n")
	// node 1's containerd runs from a temporary directory (a long lab path), named by its address file
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	write(t, containerdAddressFile(labDir, "x-node-1"), sock+"\n")
	write(t, filepath.Join(filepath.Dir(sock), "containerd.log"), "containerd of node 1\n")
	write(t, filepath.Join(labDir, "data", "x-control-plane", "containerd", "containerd.log"), "containerd of the control plane\n")
	pods := filepath.Join(labDir, "data", "x-node-1", "kubelet", "pods")
	write(t, filepath.Join(pods, "default_web-1_u1", "web", "0.log"), "hello from web-1\n")
	write(t, filepath.Join(pods, "u1", "volumes", "kubernetes.io~projected", "kube-api-access", "token"), "SECRET-TOKEN")
	write(t, filepath.Join(pods, "u1", "volumes", "kubernetes.io~secret", "creds", "password.log"), "SECRET-PASSWORD")

	var said []string
	err = l.ExportLogs(context.Background(), out, func(f string, a ...any) { said = append(said, f) })
	if err != nil {
		t.Fatalf("ExportLogs: %v", err)
	}
	for file, want := range map[string]string{
		"lab.json":                                 `"name": "x"`,
		"x-node-1/agent.log":                       "kubelet of x-node-1 running",
		"x-node-1/containerd.log":                  "containerd of node 1",
		"x-node-1/pods/default_web-1_u1/web/0.log": "hello from web-1",
		"x-control-plane/agent.log":                "static pods",
		"x-control-plane/containerd.log":           "containerd of the control plane",
		"export-errors.txt":                        "cluster state through the API",
	} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Errorf("%s not exported: %v", file, err)
			continue
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s = %q, want it to hold %q", file, b, want)
		}
	}
	_ = filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "SECRET-") {
			t.Errorf("%s holds a volume's secret content", path)
		}
		return nil
	})
	if len(said) == 0 {
		t.Error("no progress lines")
	}
	for _, line := range said {
		if strings.HasPrefix(line, "cluster state:") {
			t.Errorf("with the API server down, a progress line says %q", line)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "cluster", "pods.yaml")); err == nil {
		t.Error("cluster/pods.yaml written with the API server down")
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
