package disruption_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/reference/controllers/disruption"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
)

// TestBudgetStatusAndEviction checks the status the controller keeps for a minAvailable budget
// over ready pods, and that evictions through the API server stop at the budget: with three
// ready pods and minAvailable 2, one eviction succeeds and the next is 429 until the controller
// sees a replacement.
func TestBudgetStatusAndEviction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, closeAll, err := inprocess.Start(ctx, inprocess.Options{Controllers: []string{disruption.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	client := kubernetes.NewForConfigOrDie(c.Config)
	const ns = "default"
	for i := range 3 {
		readyPod(ctx, t, client, ns, fmt.Sprintf("web-%d", i))
	}
	two := intstr.FromInt32(2)
	if _, err := client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(ctx, t, client, ns, "web", policyv1.PodDisruptionBudgetStatus{ExpectedPods: 3, CurrentHealthy: 3, DesiredHealthy: 2, DisruptionsAllowed: 1})

	evict := func(name string) error {
		return client.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	if err := evict("web-0"); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	if err := evict("web-1"); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("second eviction: want 429, got %v", err)
	}
	waitStatus(ctx, t, client, ns, "web", policyv1.PodDisruptionBudgetStatus{ExpectedPods: 2, CurrentHealthy: 2, DesiredHealthy: 2, DisruptionsAllowed: 0})
	readyPod(ctx, t, client, ns, "web-3")
	waitStatus(ctx, t, client, ns, "web", policyv1.PodDisruptionBudgetStatus{ExpectedPods: 3, CurrentHealthy: 3, DesiredHealthy: 2, DisruptionsAllowed: 1})
	if err := evict("web-1"); err != nil {
		t.Fatalf("eviction after the replacement: %v", err)
	}
}

func readyPod(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string) {
	t.Helper()
	p, err := client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
	if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitStatus(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string, want policyv1.PodDisruptionBudgetStatus) {
	t.Helper()
	var last policyv1.PodDisruptionBudgetStatus
	for ctx.Err() == nil {
		pdb, err := client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = pdb.Status
			if last.ExpectedPods == want.ExpectedPods && last.CurrentHealthy == want.CurrentHealthy &&
				last.DesiredHealthy == want.DesiredHealthy && last.DisruptionsAllowed == want.DisruptionsAllowed &&
				last.ObservedGeneration == pdb.Generation {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("budget %s never reached %+v (last %+v)", name, want, last)
}
