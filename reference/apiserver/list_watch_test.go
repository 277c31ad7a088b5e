package apiserver_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

func TestSelectors(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	pods := ts.client.CoreV1().Pods("default")
	for i, node := range []string{"n1", "n2", ""} {
		p := makePod(fmt.Sprintf("p%d", i))
		p.Labels["idx"] = fmt.Sprint(i)
		p.Spec.NodeName = node
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, labels, fields string
		want                 []string
		badRequest           bool
	}{
		{name: "label equality", labels: "idx=1", want: []string{"p1"}},
		{name: "label set", labels: "idx in (0,2)", want: []string{"p0", "p2"}},
		{name: "node name", fields: "spec.nodeName=n2", want: []string{"p1"}},
		{name: "unscheduled", fields: "spec.nodeName=", want: []string{"p2"}},
		{name: "keys in any order with !=", fields: "status.phase!=Succeeded,spec.nodeName=n1,status.phase!=Failed", want: []string{"p0"}},
		{name: "double equals", fields: "metadata.name==p2", want: []string{"p2"}},
		{name: "namespace field", fields: "metadata.namespace=default", want: []string{"p0", "p1", "p2"}},
		{name: "labels and fields", labels: "app=web", fields: "metadata.name!=p0", want: []string{"p1", "p2"}},
		{name: "unsupported field", fields: "spec.bogus=x", badRequest: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: tc.labels, FieldSelector: tc.fields})
			if tc.badRequest {
				if !apierrors.IsBadRequest(err) {
					t.Fatalf("want BadRequest, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range list.Items {
				got = append(got, p.Name)
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	// All namespaces and node lists.
	all, err := ts.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"})
	if err != nil || len(all.Items) != 1 {
		t.Fatalf("all-namespace list: %v %v", all, err)
	}
}

func TestLimitContinue(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	cms := ts.client.CoreV1().ConfigMaps("default")
	for i := 0; i < 7; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm%d", i), Labels: map[string]string{"even": fmt.Sprint(i%2 == 0)}}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		selector string
		want     int
	}{{"plain", "", 7}, {"filtered", "even=true", 4}} {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			opts := metav1.ListOptions{Limit: 3, LabelSelector: tc.selector}
			rv := ""
			for pages := 0; ; pages++ {
				l, err := cms.List(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(l.Items) > 3 {
					t.Fatalf("page of %d > limit", len(l.Items))
				}
				if rv == "" {
					rv = l.ResourceVersion
				} else if l.ResourceVersion != rv {
					t.Errorf("page resourceVersion %s != first page %s", l.ResourceVersion, rv)
				}
				for _, c := range l.Items {
					names = append(names, c.Name)
				}
				if l.Continue == "" {
					break
				}
				opts.Continue = l.Continue
				// A write between pages does not show up in later pages.
				_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("late-%s-%d", tc.name, pages), Labels: map[string]string{"even": "false"}}}, metav1.CreateOptions{})
			}
			if len(names) != tc.want {
				t.Fatalf("got %d items %v, want %d", len(names), names, tc.want)
			}
		})
	}
}

func TestWatchFromResourceVersionInOrder(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	cms := ts.client.CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first.Data = map[string]string{"k": "v"}
	if _, err := cms.Update(ctx, first, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{"x": "y"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	want := []string{"MODIFIED a", "ADDED b", "DELETED a"}
	var got []string
	lastRV := first.ResourceVersion
	for len(got) < len(want) {
		select {
		case ev := <-w.ResultChan():
			cm := ev.Object.(*corev1.ConfigMap)
			got = append(got, fmt.Sprintf("%s %s", ev.Type, cm.Name))
			if rvLess(cm.ResourceVersion, lastRV) {
				t.Errorf("resourceVersion went backwards: %s after %s", cm.ResourceVersion, lastRV)
			}
			lastRV = cm.ResourceVersion
		case <-time.After(10 * time.Second):
			t.Fatalf("timeout; got %v", got)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}

	// A label-filtered watch sees an object leave and enter the selection.
	w2, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "x=y", ResourceVersion: lastRV})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	b, _ := cms.Get(ctx, "b", metav1.GetOptions{})
	b.Labels = nil
	b, _ = cms.Update(ctx, b, metav1.UpdateOptions{})
	b.Labels = map[string]string{"x": "y"}
	_, _ = cms.Update(ctx, b, metav1.UpdateOptions{})
	for _, wantType := range []watch.EventType{watch.Deleted, watch.Added} {
		select {
		case ev := <-w2.ResultChan():
			if ev.Type != wantType {
				t.Fatalf("filtered watch: got %s, want %s", ev.Type, wantType)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("timeout on filtered watch")
		}
	}
}

func rvLess(a, b string) bool {
	var x, y int64
	fmt.Sscan(a, &x)
	fmt.Sscan(b, &y)
	return x < y
}

func TestWatchExpiredIsGone(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	cms := ts.client.CoreV1().ConfigMaps("default")
	a, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	b, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{})
	var rev int64
	fmt.Sscan(b.ResourceVersion, &rev)
	if err := ts.store.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	var old int64
	fmt.Sscan(a.ResourceVersion, &old)
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: fmt.Sprint(old - 1)})
	if err != nil {
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("want 410, got %v", err)
		}
		return
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		st, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || st.Code != 410 {
			t.Fatalf("want ERROR 410 event, got %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timeout")
	}
}

func TestInformerSyncsAndFollows(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	pods := ts.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, makePod("before"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(ts.client, 0)
	inf := factory.Core().V1().Pods()
	lister := inf.Lister()
	informer := inf.Informer()
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, informer.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if _, err := lister.Pods("default").Get("before"); err != nil {
		t.Fatalf("synced cache lacks the existing pod: %v", err)
	}
	if _, err := pods.Create(ctx, makePod("after"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "informer sees new pod", func() bool {
		_, err := lister.Pods("default").Get("after")
		return err == nil
	})
	if err := pods.Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "informer sees deletion", func() bool {
		_, err := lister.Pods("default").Get("before")
		return apierrors.IsNotFound(err)
	})
}

// TestGetWithResourceVersion: a GET with resourceVersion "0" or a reached N answers the
// object (from the watch cache once a list has started it, the state at least as new as N); a
// GET of a deleted object at "0" is NotFound once the cache has seen the deletion; an N beyond
// the store's revision is 504 Too large resource version; anything but an integer is 400.
func TestGetWithResourceVersion(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	cms := ts.client.CoreV1().ConfigMaps("default")
	created, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rv"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A list starts the resource's watch cache, as informers do.
	if _, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: "0"}); err != nil {
		t.Fatal(err)
	}
	updated := created.DeepCopy()
	updated.Data["v"] = "2"
	if updated, err = cms.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, rv := range []string{"", "0", updated.ResourceVersion} {
		got, err := cms.Get(ctx, "rv", metav1.GetOptions{ResourceVersion: rv})
		if rv == "0" && err == nil && got.Data["v"] == "1" {
			continue // "0" may answer an older state; it must not fail
		}
		if err != nil || got.Data["v"] != "2" || got.ResourceVersion != updated.ResourceVersion {
			t.Errorf("GET at resourceVersion %q: %v, %v; want v=2 at %s", rv, got.Data, err, updated.ResourceVersion)
		}
	}
	var cur int64
	_, _ = fmt.Sscan(updated.ResourceVersion, &cur)
	_, err = cms.Get(ctx, "rv", metav1.GetOptions{ResourceVersion: fmt.Sprint(cur + 1000)})
	var st apierrors.APIStatus
	if !apierrors.IsTimeout(err) || !errorsAs(err, &st) || st.Status().Details == nil || len(st.Status().Details.Causes) == 0 ||
		st.Status().Details.Causes[0].Type != metav1.CauseTypeResourceVersionTooLarge {
		t.Errorf("GET at a resourceVersion ahead of the store: %v, want 504 Timeout, cause ResourceVersionTooLarge", err)
	}
	if _, err := cms.Get(ctx, "rv", metav1.GetOptions{ResourceVersion: "abc"}); !apierrors.IsBadRequest(err) {
		t.Errorf("GET at resourceVersion abc: %v, want 400 BadRequest", err)
	}
	if err := cms.Delete(ctx, "rv", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := cms.Get(ctx, "rv", metav1.GetOptions{ResourceVersion: "0"})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET at resourceVersion 0 of a deleted object: %v, want NotFound within 10 s", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errorsAs(err error, target *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*target = s
	}
	return ok
}
