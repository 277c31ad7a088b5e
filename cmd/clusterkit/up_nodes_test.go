package main

import (
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// nodes register Ready and a pod bound to one of them runs.
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
}
