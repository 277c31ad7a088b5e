package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

func configMaps(t *testing.T) *registry.Resource {
	t.Helper()
	res := registry.Default().Lookup(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"})
	if res == nil {
		t.Fatal("configmaps are not registered")
	}
	return res
}

func createCM(ctx context.Context, t *testing.T, o *storage.Objects, res *registry.Resource, ns, name string) int64 {
	t.Helper()
	obj, err := o.Create(ctx, res, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	if err != nil {
		t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	m, _ := obj.(metav1.Object)
	var rev int64
	_, _ = fmt.Sscan(m.GetResourceVersion(), &rev)
	return rev
}

// receive reads n events from events, failing after a timeout, and returns their names.
func receive(t *testing.T, events <-chan storage.Event, n int) []string {
	t.Helper()
	var names []string
	for range n {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the watch ended after %v", names)
			}
			names = append(names, ev.Object.(*corev1.ConfigMap).Name)
		case <-time.After(10 * time.Second):
			t.Fatalf("no event after %v", names)
		}
	}
	return names
}

func TestSharedWatchesSeeEveryChangeOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	createCM(ctx, t, o, res, "a", "before")

	all, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	inA, _, err := o.Watch(ctx, res, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	rev := createCM(ctx, t, o, res, "a", "one")
	createCM(ctx, t, o, res, "b", "two")
	// A watch from a revision the shared watch has already passed reads the store: it sees
	// "two" again, not nothing.
	replay, _, err := o.Watch(ctx, res, "", rev)
	if err != nil {
		t.Fatal(err)
	}
	createCM(ctx, t, o, res, "a", "three")

	if got := fmt.Sprint(receive(t, all, 3)); got != "[one two three]" {
		t.Errorf("every namespace: %s", got)
	}
	if got := fmt.Sprint(receive(t, inA, 2)); got != "[one three]" {
		t.Errorf("namespace a: %s", got)
	}
	if got := fmt.Sprint(receive(t, replay, 2)); got != "[two three]" {
		t.Errorf("from revision %d: %s", rev, got)
	}
}

func TestSharedWatchEndsWithItsContextAlone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	wctx, stop := context.WithCancel(ctx)
	short, errc, err := o.Watch(wctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	long, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	for range short {
	}
	if err := <-errc; err != nil {
		t.Errorf("a cancelled watch ends without an error, got %v", err)
	}
	createCM(ctx, t, o, res, "a", "after")
	if got := fmt.Sprint(receive(t, long, 1)); got != "[after]" {
		t.Errorf("the other watch: %s", got)
	}
}

func TestSharedWatchFromACompactedRevisionIsExpired(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	live, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	old := createCM(ctx, t, o, res, "a", "one")
	createCM(ctx, t, o, res, "a", "two")
	cur := createCM(ctx, t, o, res, "a", "three")
	receive(t, live, 3)
	if err := kv.Compact(ctx, cur); err != nil {
		t.Fatal(err)
	}
	events, errc, err := o.Watch(ctx, res, "", old)
	if err == nil {
		for range events {
		}
		err = <-errc
	}
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) && !interfaces.IsExpired(err) {
		t.Fatalf("a watch from compacted revision %d: want 410 Expired, got %v", old, err)
	}
}

func TestSharedWatchesEndWhenTheStoreCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	o := storage.New(kv)
	res := configMaps(t)
	events, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = kv.Close()
	select {
	case _, ok := <-events:
		if ok {
			t.Fatal("an event after the store closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end when the store closed")
	}
	// A new watch does not find the ended hub: it fails as the closed store does.
	if _, _, err := o.Watch(ctx, res, "", 0); err == nil {
		t.Error("a watch of a closed store started")
	}
}

func TestSharedEventJSONIsEncodedOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	a, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := o.Watch(ctx, res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	createCM(ctx, t, o, res, "a", "one")
	ea, eb := <-a, <-b
	ja, err := ea.JSON()
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := eb.JSON()
	if &ja[0] != &jb[0] {
		t.Error("two watches of one change encoded its object twice")
	}
	if ea.Object != eb.Object {
		t.Error("two watches of one change decoded it twice")
	}
}

func TestSharedEventProtobufIsEncodedOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := configMaps(t)
	var ws []<-chan storage.Event
	for i := 0; i < 3; i++ {
		w, _, err := o.Watch(ctx, res, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	createCM(ctx, t, o, res, "a", "one")
	ser := protobuf.NewSerializer(nil, nil)
	encode := func(obj runtime.Object) ([]byte, error) {
		var buf bytes.Buffer
		err := ser.EncodeWithAllocator(obj, &buf, &runtime.SimpleAllocator{})
		return buf.Bytes(), err
	}
	var first []byte
	for i, w := range ws {
		ev := <-w
		data, err := ev.Protobuf(encode)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("k8s\x00")) {
			t.Fatalf("watch %d: not a protobuf envelope: %.20q", i, data)
		}
		if i == 0 {
			first = data
		} else if &data[0] != &first[0] {
			t.Errorf("watch %d encoded the shared change's object again", i)
		}
		if j, err := ev.JSON(); err != nil || !bytes.HasPrefix(j, []byte("{")) {
			t.Errorf("watch %d: the JSON next to the protobuf is %q, %v", i, j, err)
		}
	}
}

// TestIndexedSharedWatchesGetTheirValuesChanges: a watch that selects one value of the
// resource's WatchIndex field (a kubelet's spec.nodeName=NODE) is sent the changes of the
// objects that have or had that value — a binding reaches both the unassigned watch and the
// node's — and no others; a watch without the option is sent everything.
func TestIndexedSharedWatchesGetTheirValuesChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := memory.New()
	defer kv.Close()
	o := storage.New(kv)
	res := registry.Default().Lookup(schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	if res == nil || res.WatchIndex != "spec.nodeName" {
		t.Fatalf("pods are not registered with the watch index spec.nodeName: %+v", res)
	}
	watch := func(value *string) <-chan storage.Event {
		events, _, err := o.WatchWith(ctx, res, "", 0, storage.WatchOptions{IndexValue: value})
		if err != nil {
			t.Fatal(err)
		}
		return events
	}
	nodeA, unassigned, all := watch(ptrTo("a")), watch(ptrTo("")), watch(nil)
	create := func(name, node string) {
		if _, err := o.Create(ctx, res, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: corev1.PodSpec{NodeName: node}}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(name string, change func(*corev1.Pod)) {
		if _, err := o.Update(ctx, res, "ns", name, func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod).DeepCopy()
			change(p)
			return p, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	create("p1", "")
	create("p2", "b")
	update("p1", func(p *corev1.Pod) { p.Spec.NodeName = "a" })
	update("p1", func(p *corev1.Pod) { p.Labels = map[string]string{"changed": "yes"} })
	if _, err := o.Delete(ctx, res, "ns", "p1", 0); err != nil {
		t.Fatal(err)
	}
	create("p3", "a")

	got := func(events <-chan storage.Event, n int) string {
		t.Helper()
		var out []string
		for range n {
			select {
			case ev := <-events:
				out = append(out, fmt.Sprintf("%s:%s", ev.Type, ev.Object.(*corev1.Pod).Name))
			case <-time.After(10 * time.Second):
				t.Fatalf("no event after %v", out)
			}
		}
		return fmt.Sprint(out)
	}
	if s := got(nodeA, 4); s != "[UPDATED:p1 UPDATED:p1 DELETED:p1 CREATED:p3]" {
		t.Errorf("spec.nodeName=a: %s", s)
	}
	if s := got(unassigned, 2); s != "[CREATED:p1 UPDATED:p1]" {
		t.Errorf("spec.nodeName=: %s", s)
	}
	if s := got(all, 6); s != "[CREATED:p1 CREATED:p2 UPDATED:p1 UPDATED:p1 DELETED:p1 CREATED:p3]" {
		t.Errorf("no index: %s", s)
	}
	select {
	case ev := <-unassigned:
		t.Errorf("spec.nodeName= was also sent %s of %s", ev.Type, ev.Object.(*corev1.Pod).Name)
	case <-time.After(100 * time.Millisecond):
	}
}

func ptrTo(s string) *string { return &s }
