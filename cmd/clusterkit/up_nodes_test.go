package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
)

func TestUpRuntimeEndpoint(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"default", "", "sim"},
		{"sim", "sim", "sim"},
		{"containerd", "containerd", "containerd"},
		{"socket path", "/run/x.sock", "unix:///run/x.sock"},
		{"endpoint", "unix:///run/y.sock", "unix:///run/y.sock"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := upRuntimeEndpoint(c.in); got != c.want {
				t.Fatalf("upRuntimeEndpoint(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestParseResources(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[corev1.ResourceName]string
		bad      bool
	}{
		{"empty", "", map[corev1.ResourceName]string{}, false},
		{"two", "cpu=4, memory=8Gi", map[corev1.ResourceName]string{"cpu": "4", "memory": "8Gi"}, false},
		{"no equals", "cpu", nil, true},
		{"bad quantity", "cpu=lots", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseResources(c.in)
			if (err != nil) != c.bad {
				t.Fatalf("error %v, want error %v", err, c.bad)
			}
			for n, v := range c.want {
				if q := got[n]; q.String() != v {
					t.Fatalf("%s = %s, want %s", n, q.String(), v)
				}
			}
			if !c.bad && len(got) != len(c.want) {
				t.Fatalf("got %v", got)
			}
		})
	}
}

// TestUpStartsNodes runs `up --nodes 2` on the simulated runtime: both
// nodes register Ready and a pod bound to one of them runs; its logs and exec
// go through the API server to the kubelet's HTTPS API, which refuses
// anonymous callers.
func TestUpStartsNodes(t *testing.T) {
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0, nodes: 2, runtime: "sim"}
	client, stop := startUp(t, o)
	defer stop()
	ctx := t.Context()
	deadline := time.Now().Add(60 * time.Second)
	for {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, n := range nodes.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 nodes Ready (err %v)", ready, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "node-2", Containers: []corev1.Container{{
			Name: "c", Image: "clusterkit.local/ckimage:v1", Command: []string{"/ckimage"}, Args: []string{"serve-hostname"},
		}}},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod not Running: %v %+v", err, p.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{}).DoRaw(ctx); err != nil {
		t.Errorf("kubectl logs through the API server: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("web").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "c", Command: []string{"/ckimage", "echo", "hi"}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut}); err != nil || out.String() != "hi\n" {
		t.Errorf("kubectl exec through the API server: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
	node, err := client.CoreV1().Nodes().Get(ctx, "node-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Every node has an address of its own, where its kubelet serves.
	node1, err := client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip1, ip2 := internalIP(node1), internalIP(node)
	if ip1 == "" || ip2 == "" || ip1 == ip2 {
		t.Errorf("node-1 and node-2 have InternalIPs %q and %q, want two distinct addresses", ip1, ip2)
	}
	anonymous := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := anonymous.Get(fmt.Sprintf("https://%s/containerLogs/default/web/c", net.JoinHostPort(ip2, strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)))))
	if err != nil {
		t.Fatalf("reaching the kubelet API: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous containerLogs on the kubelet: %d, want 401", resp.StatusCode)
	}
}

// internalIP is the node's first InternalIP address.
func internalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}
