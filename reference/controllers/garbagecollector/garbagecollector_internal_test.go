package garbagecollector

import (
	"context"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/reference/controllers/apitest"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// keys is a KeyQueue that keeps what it is given; the tests reconcile by hand.
type keys struct {
	mu  sync.Mutex
	got []string
}

func (k *keys) Add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.got = append(k.got, key)
}

func (k *keys) AddAfter(key string, _ time.Duration) { k.Add(key) }

// fixture is a real in-process API server and a collector whose caches the
// test fills by hand: the collector's informers are never started, so a
// test decides exactly how far behind the API they are.
type fixture struct {
	client kubernetes.Interface
	g      *collector
	ns     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := apitest.Start(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	ctrl, err := New(Config{})(runner.Context{
		Client: client, Dynamic: dyn,
		DynamicInformers: dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0),
		Clock:            clock.RealClock{}, Queue: &keys{}, Log: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{client: client, g: ctrl.(*collector), ns: "gc-test"}
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

// cache puts obj, as it is now, into the collector's cache of resource.
func (f *fixture) cache(t *testing.T, resource string, obj runtime.Object) {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	w := f.watched(t, resource)
	if err := w.informer.Informer().GetIndexer().Add(&unstructured.Unstructured{Object: u}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) watched(t *testing.T, resource string) *watched {
	t.Helper()
	for _, w := range f.g.byGVR {
		if w.GVR.Resource == resource {
			return w
		}
	}
	t.Fatalf("the collector does not watch %s", resource)
	return nil
}

func (f *fixture) reconcile(t *testing.T, resource, name string) error {
	t.Helper()
	_, err := f.g.Reconcile(context.Background(), key(f.watched(t, resource), f.ns, name))
	return err
}

// owned creates a ReplicaSet and a pod it controls.
func (f *fixture) owned(t *testing.T) (*appsv1.ReplicaSet, *corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	rs, err := f.client.AppsV1().ReplicaSets(f.ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](1),
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
	pod, err := f.client.CoreV1().Pods(f.ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: labels,
			OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs, pod
}

func (f *fixture) release(t *testing.T, owner types.UID, pod *corev1.Pod) {
	t.Helper()
	if _, err := f.client.CoreV1().Pods(f.ns).Patch(context.Background(), pod.Name, types.StrategicMergePatchType,
		runner.ReleasePatch(owner, pod.UID), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) deleteRS(t *testing.T, policy metav1.DeletionPropagation) {
	t.Helper()
	if err := f.client.AppsV1().ReplicaSets(f.ns).Delete(context.Background(), "web", metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) pod(t *testing.T, name string) (*corev1.Pod, bool) {
	t.Helper()
	p, err := f.client.CoreV1().Pods(f.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return p, p.DeletionTimestamp == nil
}

// TestKeepsDependentOrphanedAfterTheCachedVersion is the race of
// controllers.gc.orphan on a busy machine: the ReplicaSet was deleted with
// propagationPolicy=Orphan, the pod's owner reference was removed and the
// ReplicaSet is gone, but the collector's pod cache still holds the pod's
// version with the reference. Deciding from that version alone deleted the
// orphan.
func TestKeepsDependentOrphanedAfterTheCachedVersion(t *testing.T) {
	f := newFixture(t)
	rs, pod := f.owned(t)
	f.cache(t, "pods", pod) // the version with the owner reference
	f.release(t, rs.UID, pod)
	f.deleteRS(t, metav1.DeletePropagationBackground)
	if err := f.reconcile(t, "pods", pod.Name); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	got, alive := f.pod(t, pod.Name)
	if !alive {
		t.Fatal("the orphaned pod was deleted: the collector acted on its cache's version, which still named the deleted owner")
	}
	if len(got.OwnerReferences) != 0 {
		t.Errorf("owner references %v, want none", got.OwnerReferences)
	}
}

// TestDeletesDependentOfGoneOwnerWhoseCachedVersionIsBehind: a cache that is
// behind on fields other than the owner references (a status update) must
// not save a dependent whose owners are gone.
func TestDeletesDependentOfGoneOwnerWhoseCachedVersionIsBehind(t *testing.T) {
	f := newFixture(t)
	_, pod := f.owned(t)
	f.cache(t, "pods", pod)
	if _, err := f.client.CoreV1().Pods(f.ns).Patch(context.Background(), pod.Name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"touched":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	f.deleteRS(t, metav1.DeletePropagationOrphan)
	// The orphan finalizer keeps the ReplicaSet; drop it by hand, as if the
	// orphaning had run before the pod existed.
	if _, err := f.client.AppsV1().ReplicaSets(f.ns).Patch(context.Background(), "web", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.reconcile(t, "pods", pod.Name); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if _, alive := f.pod(t, pod.Name); alive {
		t.Fatal("a pod whose only owner is gone was kept because the cache's version of it was older than the API's")
	}
}

// TestForegroundKeepsDependentReleasedAfterTheCachedVersion: an owner
// deleted in the foreground must not take along a dependent whose reference
// to it was removed after the version in the cache.
func TestForegroundKeepsDependentReleasedAfterTheCachedVersion(t *testing.T) {
	f := newFixture(t)
	rs, pod := f.owned(t)
	f.cache(t, "pods", pod)
	f.release(t, rs.UID, pod)
	f.deleteRS(t, metav1.DeletePropagationForeground)
	deleting, err := f.client.AppsV1().ReplicaSets(f.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deleting.APIVersion, deleting.Kind = "apps/v1", "ReplicaSet"
	f.cache(t, "replicasets", deleting)
	_ = f.reconcile(t, "replicasets", "web") // an error asks to be tried again: fine
	if _, alive := f.pod(t, pod.Name); !alive {
		t.Fatal("a pod released from the ReplicaSet was deleted with it (foreground), from the cache's older version")
	}
}
