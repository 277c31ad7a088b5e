package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestUpKubectlTop runs `up --nodes 1` on the simulated runtime and the real kubectl's `top
// node` and `top pod -A` against it: metrics.k8s.io answers with the node's and a running
// pod's usage, and kubectl get prints them as metrics-server's tables do.
func TestUpKubectlTop(t *testing.T) {
	upstreamKubectl := kubectltest.Path(t)
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0, nodes: 1, runtime: "sim"}
	client, stop := startUp(t, o)
	defer stop()
	ctx := t.Context()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "measured", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{
			Name: "c", Image: "clusterkit.local/ckimage:v1", Command: []string{"/ckimage"}, Args: []string{"serve-hostname"},
		}}},
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating the pod: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	kubectl := func(args ...string) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		full := append([]string{"--kubeconfig", o.kubeconfig, "--cache-dir", filepath.Join(dir, "cache")}, args...)
		cmd := exec.CommandContext(cctx, upstreamKubectl, full...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// Each output must have the header and a row naming what was measured.
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"top", "node"}, []string{"CPU(cores)", "MEMORY(bytes)", "node-1"}},
		{[]string{"top", "pod", "-A"}, []string{"NAMESPACE", "CPU(cores)", "default", "measured"}},
		{[]string{"top", "pod", "measured", "--containers"}, []string{"measured", "c"}},
		{[]string{"get", "nodes.metrics.k8s.io"}, []string{"CPU", "MEMORY", "WINDOW", "node-1"}},
		{[]string{"get", "pods.metrics.k8s.io", "-A", "-l", "app!=x"}, []string{"NAMESPACE", "WINDOW", "measured"}},
	} {
		var out string
		var err error
		for {
			out, err = kubectl(c.args...)
			ok := err == nil
			for _, w := range c.want {
				ok = ok && strings.Contains(out, w)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kubectl %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
			time.Sleep(time.Second)
		}
		t.Logf("$ kubectl %s\n%s", strings.Join(c.args, " "), out)
	}
}
