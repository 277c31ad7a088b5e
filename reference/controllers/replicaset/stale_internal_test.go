package replicaset

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

// TestCreatesNoPodsForAReplicaSetBeingDeleted is the other half of the
// controllers.gc.orphan race: the ReplicaSet is being deleted with
// propagationPolicy=Orphan and its pods were released, but the controller's
// cache still shows it alive. Seeing the orphans, the controller reads the
// ReplicaSet live before adopting, learns it is being deleted, and must then
// neither adopt nor count the pods it just failed to claim as missing:
// replacements created there would be owned by a ReplicaSet about to go.
func TestCreatesNoPodsForAReplicaSetBeingDeleted(t *testing.T) {
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(apitest.Start(t))
	ns := "rs-test"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	rs, err := client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var orphans []*corev1.Pod
	for _, name := range []string{"web-a", "web-b"} {
		p, err := client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		orphans = append(orphans, p)
	}
	orphan := metav1.DeletePropagationOrphan
	if err := client.AppsV1().ReplicaSets(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
		t.Fatal(err)
	}

	factory := informers.NewSharedInformerFactory(client, 0) // never started: the test fills the caches
	ctrl, err := New(Config{})(runner.Context{Client: client, Informers: factory, Clock: clock.RealClock{}, Queue: keys{}, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := factory.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(rs); err != nil { // alive, as created
		t.Fatal(err)
	}
	for _, p := range orphans {
		if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ctrl.Reconcile(ctx, ns+"/web"); err == nil {
		t.Error("reconcile: no error, want one saying the ReplicaSet is being deleted (so it is tried again)")
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
		if len(p.OwnerReferences) > 0 {
			t.Errorf("pod %s is owned by a ReplicaSet being deleted: %v", p.Name, p.OwnerReferences)
		}
	}
	if len(names) != 2 {
		t.Errorf("pods %v, want only the 2 orphans: the controller created pods for a ReplicaSet being deleted", names)
	}
}
