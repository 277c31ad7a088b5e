package controllers_test

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
// nodes, with the kubectl of kubectltest.
func TestKubectlRollout(t *testing.T) {
	kubectlBin := kubectltest.Path(t)
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
		cmd := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(dir, "cache")}, args...)...)
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

const budgetYAML = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 3
  selector:
    matchLabels: {app: web}
`

// TestKubectlDrainRespectsBudget drains a node with a stock kubectl while a
// PodDisruptionBudget allows no disruption: drain cordons the node and stops at the budget
// (kubectl drain evicts; the eviction subresource answers 429 while the budget forbids it),
// no pod is deleted; once the budget allows one disruption at a time, the same drain
// completes, the ReplicaSet's replacements land on the other node, and the budget holds
// throughout.
func TestKubectlDrainRespectsBudget(t *testing.T) {
	kubectlBin := kubectltest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, closeAll, err := inprocess.Start(ctx, inprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAll)
	client := kubernetes.NewForConfigOrDie(cluster.Config)
	var cl benchCleanups
	t.Cleanup(cl.run)
	nodes := []string{"drain-node-0", "drain-node-1"}
	if _, err := conformance.StartSimulatedNodes(ctx, &cl, client, "default", nodes, cluster.Clock.Now); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := apiserver.WriteKubeconfig(kubeconfig, cluster.Config.Host); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(dir, "cache")}, args...)...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		out, err := cmd.CombinedOutput()
		t.Logf("$ kubectl %s\n%s", strings.Join(args, " "), out)
		return string(out), err
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := run(stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must(deploymentYAML, "apply", "-f", "-")
	must("", "rollout", "status", "deployment/web", "--timeout=60s")
	must(budgetYAML, "apply", "-f", "-")
	// The disruption controller counts the healthy pods first (disruptionsAllowed 0 of 3).
	waitBudget := func(allowed int32) {
		t.Helper()
		for {
			pdb, err := client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
			if err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.CurrentHealthy == 3 && pdb.Status.DisruptionsAllowed == allowed {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the budget's status never reached 3 healthy, %d allowed: %+v (%v)", allowed, pdb.Status, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitBudget(0)

	victim := ""
	pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		victim = p.Spec.NodeName // a node with at least one pod of web
	}
	before := map[string]bool{}
	for _, p := range pods.Items {
		before[p.Name] = true
	}
	out, err := run("", "drain", victim, "--ignore-daemonsets", "--timeout=5s")
	if err == nil || !strings.Contains(out, "Cannot evict pod as it would violate the pod's disruption budget") {
		t.Fatalf("kubectl drain with a budget allowing no disruption: want it stopped by the budget, got err %v:\n%s", err, out)
	}
	node, err := client.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{})
	if err != nil || !node.Spec.Unschedulable {
		t.Fatalf("kubectl drain must cordon the node first: unschedulable=%v (%v)", node.Spec.Unschedulable, err)
	}
	after, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range after.Items {
		if !before[p.Name] || p.DeletionTimestamp != nil {
			t.Fatalf("a pod was evicted although the budget allowed no disruption: %s (deleting: %v)", p.Name, p.DeletionTimestamp != nil)
		}
	}

	// One disruption at a time: the drain goes through, pod by pod.
	must(strings.Replace(budgetYAML, "minAvailable: 3", "minAvailable: 2", 1), "apply", "-f", "-")
	waitBudget(1)
	must("", "drain", victim, "--ignore-daemonsets", "--timeout=90s")
	waitPods(ctx, t, client, 3, "registry.example/web:1")
	final, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range final.Items {
		if p.Spec.NodeName == victim {
			t.Errorf("pod %s is on the drained node %s", p.Name, victim)
		}
	}
}
