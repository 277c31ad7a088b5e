package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
)

type benchCleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *benchCleanups) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

func (c *benchCleanups) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
}

// BenchmarkDeployment1000 measures, on the in-process API server (memory
// store) with 20 simulated nodes: the time until a 1,000-replica Deployment
// is fully available, the time of a rolling update of it (25% surge and
// unavailability), and the reconciles per second of the manager meanwhile.
//
//	go test -run '^$' -bench BenchmarkDeployment1000 -benchtime 1x ./reference/controllers/
func BenchmarkDeployment1000(b *testing.B) {
	const replicas = 1000
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		var cl benchCleanups
		cluster, closeAll, err := inprocess.Start(ctx, inprocess.Options{})
		if err != nil {
			b.Fatal(err)
		}
		cl.Cleanup(closeAll)
		client := kubernetes.NewForConfigOrDie(cluster.Config)
		ns := "bench"
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		var nodes []string
		for i := range 20 {
			nodes = append(nodes, fmt.Sprintf("sim-node-%02d", i))
		}
		if _, err := conformance.StartSimulatedNodes(ctx, &cl, client, ns, nodes, cluster.Clock.Now); err != nil {
			b.Fatal(err)
		}
		labels := map[string]string{"app": "big"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "big"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(int32(replicas)),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxSurge: ptr.To(intstr.FromString("25%")), MaxUnavailable: ptr.To(intstr.FromString("25%"))}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/big:1"}}},
				},
			},
		}
		m := cluster.Manager()
		startReconciles := m.Reconciles()
		start := time.Now()
		if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		waitRolledOut(ctx, b, client, ns, "big", replicas)
		available := time.Since(start)
		start2 := time.Now()
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := client.AppsV1().Deployments(ns).Get(ctx, "big", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Template.Spec.Containers[0].Image = "registry.example/big:2"
			_, err = client.AppsV1().Deployments(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		waitRolledOut(ctx, b, client, ns, "big", replicas)
		rollout := time.Since(start2)
		total := time.Since(start)
		reconciles := m.Reconciles() - startReconciles
		b.ReportMetric(available.Seconds(), "s-to-available")
		b.ReportMetric(rollout.Seconds(), "s-rolling-update")
		b.ReportMetric(float64(reconciles)/total.Seconds(), "reconciles/s")
		b.Logf("1000 replicas available in %s; rolling update in %s; %d reconciles (%.0f/s)",
			available.Round(time.Millisecond), rollout.Round(time.Millisecond), reconciles, float64(reconciles)/total.Seconds())
		cl.run()
		cancel()
	}
}

func waitRolledOut(ctx context.Context, b *testing.B, client kubernetes.Interface, ns, name string, n int32) {
	b.Helper()
	for {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == n && d.Status.Replicas == n && d.Status.AvailableReplicas == n {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("not rolled out: %+v", d.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
