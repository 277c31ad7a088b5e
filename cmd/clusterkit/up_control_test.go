package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestUpRunsTheSeedsRequestFlow walks the seed's sequence diagram on
// `clusterkit up`: a Deployment becomes a ReplicaSet and Pods (controller
// manager), the Pods get nodes (scheduler) and run (kubelets on the
// simulated runtime), and their status comes back Running with an IP.
func TestUpRunsTheSeedsRequestFlow(t *testing.T) {
	dir := t.TempDir()
	client, stop := startUp(t, &upOptions{
		dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"),
		nodes: 2, runtime: "sim", controlPlaneNode: true, podSecurityExempt: []string{"kube-system"},
	})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "clusterkit.local/ckimage:v1", Args: []string{"serve-hostname", "--port", "8080"},
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" && p.Status.PodIP != "" {
				running++
			}
		}
		if running == 3 && len(pods.Items) == 3 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("3 Running pods with a node and an IP: got %d of %d pods", running, len(pods.Items))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
