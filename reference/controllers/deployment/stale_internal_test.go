package deployment

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/reference/controllers/apitest"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

type keys struct{}

func (keys) Add(string)                     {}
func (keys) AddAfter(string, time.Duration) {}

// TestDoesNotAdoptForADeploymentBeingDeleted: a Deployment deleted with
// propagationPolicy=Orphan, whose ReplicaSet the collector released, while
// the controller's cache still shows the Deployment alive. Taking the
// ReplicaSet back would have it (and its pods) deleted with the Deployment:
// before adopting, the controller must read the Deployment live.
func TestDoesNotAdoptForADeploymentBeingDeleted(t *testing.T) {
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(apitest.Start(t))
	ns := "deploy-test"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
	}
	d, err := client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-released", Labels: labels},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	orphan := metav1.DeletePropagationOrphan
	if err := client.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
		t.Fatal(err)
	}

	factory := informers.NewSharedInformerFactory(client, 0) // never started: the test fills the caches
	ctrl, err := New()(runner.Context{Client: client, Informers: factory, Clock: clock.RealClock{}, Queue: keys{}, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := factory.Apps().V1().Deployments().Informer().GetIndexer().Add(d); err != nil { // alive, as created
		t.Fatal(err)
	}
	if _, err := ctrl.Reconcile(ctx, ns+"/web"); err == nil {
		t.Error("reconcile: no error, want one saying the Deployment is being deleted (so it is tried again)")
	}
	rss, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss.Items {
		if rs.Name != "web-released" {
			t.Errorf("ReplicaSet %s created for a Deployment being deleted", rs.Name)
		}
		if len(rs.OwnerReferences) > 0 {
			t.Errorf("ReplicaSet %s adopted by a Deployment being deleted: %v", rs.Name, rs.OwnerReferences)
		}
	}
}
