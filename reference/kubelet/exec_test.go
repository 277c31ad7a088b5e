package kubelet_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// TestInteractiveExec: exec with stdin goes through the runtime's streaming
// server (CRI Exec), proxied by the kubelet, over WebSocket and SPDY.
func TestInteractiveExec(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rc, stop, err := kubeletharness.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	node, err := localnode.Start(ctx, rc, localnode.Config{Name: "n1", Kubelet: kubeletharness.KubeletConfig(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	client := kubernetes.NewForConfigOrDie(rc)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sh", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{
			Name: "c", Image: "clusterkit.local/ckimage:v1", Command: []string{"/ckimage"}, Args: []string{"serve-hostname"},
		}}},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := client.CoreV1().Pods("default").Get(ctx, "sh", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("pod not Running")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cases := []struct {
		name      string
		websocket bool
	}{{"websocket", true}, {"spdy", false}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("sh").SubResource("exec").
				VersionedParams(&corev1.PodExecOptions{Container: "c", Command: []string{"/ckimage", "echo", "hi"}, Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec)
			var ex remotecommand.Executor
			if c.websocket {
				ex, err = remotecommand.NewWebSocketExecutor(rc, "GET", req.URL().String())
			} else {
				ex, err = remotecommand.NewSPDYExecutor(rc, "POST", req.URL())
			}
			if err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
			if err != nil {
				t.Fatalf("exec: %v (stderr %q)", err, errOut.String())
			}
			if out.String() != "hi\n" {
				t.Fatalf("stdout %q", out.String())
			}
		})
	}
}
