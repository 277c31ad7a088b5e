package apiserver_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubectlResize: `kubectl patch --subresource resize` changes a pod's container resources,
// and `kubectl get --subresource resize` reads the pod, as against kube-apiserver; a resize
// changing the QoS class fails with the field named.
func TestKubectlResize(t *testing.T) {
	ts := newTestServer(t)
	k := newKubectl(t, ts)
	ctx := ctxT(t)
	k.mustRun(`apiVersion: v1
kind: Pod
metadata:
  name: resize-demo
spec:
  containers:
  - name: app
    image: registry.example/app:1
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 200m, memory: 128Mi}
`, "apply", "-f", "-")
	out := k.mustRun("", "patch", "pod", "resize-demo", "--subresource", "resize", "--patch",
		`{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"150m"},"limits":{"cpu":"300m"}}}]}}`)
	if !strings.Contains(out, "pod/resize-demo patched") {
		t.Fatalf("patch --subresource resize output: %q", out)
	}
	p, err := ts.client.CoreV1().Pods("default").Get(ctx, "resize-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Spec.Containers[0].Resources
	if r.Requests.Cpu().String() != "150m" || r.Limits.Cpu().String() != "300m" || p.Generation != 2 {
		t.Errorf("after the resize: requests %v limits %v generation %d, want cpu 150m/300m, generation 2", r.Requests, r.Limits, p.Generation)
	}
	out = k.mustRun("", "get", "pod", "resize-demo", "--subresource", "resize", "-o", "jsonpath={.spec.containers[0].resources.limits.cpu}")
	if strings.TrimSpace(out) != "300m" {
		t.Errorf("get --subresource resize: %q, want 300m", out)
	}
	out, err = k.run("", "patch", "pod", "resize-demo", "--subresource", "resize", "--patch",
		`{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"300m","memory":"128Mi"}}}]}}`)
	if err == nil || !strings.Contains(out, "Pod QOS Class may not change as a result of resizing") {
		t.Errorf("a resize to Guaranteed must fail naming the QoS class: %v\n%s", err, out)
	}
}
