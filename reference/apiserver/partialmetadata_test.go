package apiserver_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/ptr"
)

// TestMetadataClientReadsObjectMetadata reads objects as PartialObjectMetadata with client-go's
// metadata client, as kube-controller-manager's garbage collector and namespace controller do:
// get, list and watch carry the object's own metadata (an empty one made the collector take
// every dependent for deleted, since its uid never matched).
func TestMetadataClientReadsObjectMetadata(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	owner := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "u-1", Controller: ptr.To(true)}
	cm, err := ts.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: "x", Labels: map[string]string{"a": "b"}, Finalizers: []string{"example.com/f"},
		OwnerReferences: []metav1.OwnerReference{owner}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got *metav1.PartialObjectMetadata) {
		t.Helper()
		if got.Name != "x" || got.Namespace != "default" || got.UID != cm.UID || got.ResourceVersion == "" ||
			got.Labels["a"] != "b" || len(got.Finalizers) != 1 || len(got.OwnerReferences) != 1 || got.OwnerReferences[0].UID != owner.UID {
			t.Errorf("%s: metadata %+v, want that of %+v", what, got.ObjectMeta, cm.ObjectMeta)
		}
	}
	cms := metadata.NewForConfigOrDie(ts.config).Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("default")
	got, err := cms.Get(ctx, "x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("get", got)
	list, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("list: %d items", len(list.Items))
	}
	check("list", &list.Items[0])
	w, err := cms.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=x", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cm.Labels["c"] = "d"
	if cm, err = ts.client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		pm, ok := ev.Object.(*metav1.PartialObjectMetadata)
		if !ok {
			t.Fatalf("watch: %s %T", ev.Type, ev.Object)
		}
		check("watch", pm)
	case <-time.After(10 * time.Second):
		t.Fatal("watch: no event")
	}
}
