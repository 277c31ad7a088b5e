package controllers_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
`

// TestKubectlRollout drives the controllers with a stock kubectl: apply,
// rollout status, set image, rollout history/undo, scale — on simulated
// nodes. Skipped when kubectl is not installed.
func TestKubectlRollout(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, closeAll, err := inprocess.Start(ctx, inprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAll)
	client := kubernetes.NewForConfigOrDie(cluster.Config)
	var cl benchCleanups
	t.Cleanup(cl.run)
	if _, err := conformance.StartSimulatedNodes(ctx, &cl, client, "default", []string{"kubectl-node-0", "kubectl-node-1"}, cluster.Clock.Now); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := apiserver.WriteKubeconfig(kubeconfig, cluster.Config.Host); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "deployment.yaml")
	if err := os.WriteFile(manifest, []byte(deploymentYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(dir, "cache")}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	kubectl("apply", "-f", manifest)
	if out := kubectl("rollout", "status", "deployment/web", "--timeout=60s"); !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status: %s", out)
	}
	kubectl("set", "image", "deployment/web", "web=registry.example/web:2")
	if out := kubectl("rollout", "status", "deployment/web", "--timeout=60s"); !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status after set image: %s", out)
	}
	if out := kubectl("rollout", "history", "deployment/web"); !strings.Contains(out, "1 ") || !strings.Contains(out, "2 ") {
		t.Fatalf("rollout history lists no revisions 1 and 2:\n%s", out)
	}
	kubectl("rollout", "undo", "deployment/web")
	kubectl("rollout", "status", "deployment/web", "--timeout=60s")
	waitPods(ctx, t, client, 3, "registry.example/web:1")
	kubectl("scale", "deployment/web", "--replicas=5")
	kubectl("rollout", "status", "deployment/web", "--timeout=60s")
	waitPods(ctx, t, client, 5, "registry.example/web:1")
	if out := kubectl("get", "deployment", "web"); !strings.Contains(out, "5/5") {
		t.Fatalf("kubectl get deployment:\n%s", out)
	}
}

func waitPods(ctx context.Context, t *testing.T, client kubernetes.Interface, n int, image string) {
	t.Helper()
	for {
		list, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Spec.Containers[0].Image == image {
				ok++
			}
		}
		if ok == n && len(list.Items) == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("want %d running pods of %s, have %d of %d", n, image, ok, len(list.Items))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
