package apiserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

const (
	protobufType      = "application/vnd.kubernetes.protobuf"
	protobufWatchType = "application/vnd.kubernetes.protobuf;stream=watch"
)

// contentTypes records the Content-Type of every response a client received, by
// "METHOD path?watch".
type contentTypes struct {
	mu   sync.Mutex
	seen map[string]string
}

func (c *contentTypes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil {
			key := req.Method + " " + req.URL.Path
			if req.URL.Query().Get("watch") == "true" {
				key += "?watch"
			}
			c.mu.Lock()
			c.seen[key] = resp.Header.Get("Content-Type")
			c.mu.Unlock()
		}
		return resp, err
	})
}

// of returns the Content-Type of the last response to key.
func (c *contentTypes) of(key string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[key]
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// protobufClient is a clientset that sends and asks for protobuf (as kube-controller-manager
// and the scheduler do), recording the response Content-Types.
func protobufClient(ts *testServer) (kubernetes.Interface, *rest.Config, *contentTypes) {
	ct := &contentTypes{seen: map[string]string{}}
	cfg := rest.CopyConfig(ts.config)
	cfg.ContentType = protobufType
	cfg.AcceptContentTypes = protobufType + ",application/json"
	cfg.WrapTransport = ct.wrap
	return kubernetes.NewForConfigOrDie(cfg), cfg, ct
}

func TestProtobufCRUDAndWatch(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	client, _, ct := protobufClient(ts)
	cms := client.CoreV1().ConfigMaps("default")
	const coll = "/api/v1/namespaces/default/configmaps"

	w, err := cms.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	created, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"k": "v"}}, Data: map[string]string{"x": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Data["x"] != "1" || created.UID == "" || created.ResourceVersion == "" {
		t.Fatalf("create answered %+v", created)
	}
	got, err := cms.Get(ctx, "a", metav1.GetOptions{})
	if err != nil || got.Labels["k"] != "v" || got.UID != created.UID {
		t.Fatalf("get: %v %+v", err, got)
	}
	got.Data["y"] = "2"
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || updated.Data["y"] != "2" {
		t.Fatalf("update: %v %+v", err, updated)
	}
	patched, err := cms.Patch(ctx, "a", types.MergePatchType, []byte(`{"data":{"z":"3"}}`), metav1.PatchOptions{})
	if err != nil || patched.Data["z"] != "3" || patched.Data["x"] != "1" {
		t.Fatalf("patch: %v %+v", err, patched)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Data["z"] != "3" || list.ResourceVersion == "" {
		t.Fatalf("list: %v %+v", err, list)
	}
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}

	for _, key := range []string{"POST " + coll, "GET " + coll + "/a", "PUT " + coll + "/a", "PATCH " + coll + "/a", "GET " + coll, "DELETE " + coll + "/a"} {
		if got := ct.of(key); got != protobufType {
			t.Errorf("%s answered Content-Type %q, want %q", key, got, protobufType)
		}
	}
	if got := ct.of("GET " + coll + "?watch"); got != protobufWatchType {
		t.Errorf("watch answered Content-Type %q, want %q", got, protobufWatchType)
	}

	want := []struct {
		t watch.EventType
		z string
	}{{watch.Added, ""}, {watch.Modified, ""}, {watch.Modified, "3"}, {watch.Deleted, "3"}}
	for i, wev := range want {
		select {
		case ev := <-w.ResultChan():
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if ev.Type != wev.t || !ok || cm.Name != "a" || cm.Data["z"] != wev.z || cm.Data["x"] != "1" {
				t.Fatalf("event %d: got %s %#v, want %s with z=%q", i, ev.Type, ev.Object, wev.t, wev.z)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d: timeout", i)
		}
	}
}

func TestProtobufErrorsAreStatus(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	client, _, ct := protobufClient(ts)
	cms := client.CoreV1().ConfigMaps("default")
	const coll = "/api/v1/namespaces/default/configmaps"

	_, err := cms.Get(ctx, "missing", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("get missing: want NotFound, got %v", err)
	}
	if got := ct.of("GET " + coll + "/missing"); got != protobufType {
		t.Errorf("404 answered Content-Type %q", got)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create twice: want AlreadyExists (409), got %v", err)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Not_Valid"}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("create invalid: want Invalid (422), got %v", err)
	}
	if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Details == nil || len(st.Status().Details.Causes) == 0 {
		t.Errorf("422 Status lost its causes: %#v", err)
	}
	if got := ct.of("POST " + coll); got != protobufType {
		t.Errorf("422 answered Content-Type %q", got)
	}
	stale, err := cms.Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := stale.DeepCopy()
	fresh.Data = map[string]string{"changed": "yes"}
	if _, err := cms.Update(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want Conflict (409), got %v", err)
	}
}

// TestProtobufWatchFanOut: many protobuf watches of one resource each see every change, in order.
func TestProtobufWatchFanOut(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	client, _, _ := protobufClient(ts)
	cms := client.CoreV1().ConfigMaps("default")
	seed, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "seed"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const watchers, changes = 50, 5
	var ws []watch.Interface
	for i := 0; i < watchers; i++ {
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: seed.ResourceVersion})
		if err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
		defer w.Stop()
		ws = append(ws, w)
	}
	for i := 0; i < changes; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}, Data: map[string]string{"i": fmt.Sprint(i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for n, w := range ws {
		for i := 0; i < changes; i++ {
			select {
			case ev := <-w.ResultChan():
				cm, ok := ev.Object.(*corev1.ConfigMap)
				if ev.Type != watch.Added || !ok || cm.Name != fmt.Sprintf("c%d", i) || cm.Data["i"] != fmt.Sprint(i) {
					t.Fatalf("watcher %d event %d: got %s %#v", n, i, ev.Type, ev.Object)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("watcher %d event %d: timeout", n, i)
			}
		}
	}
}

// rawGet sends GET path with accept and returns the status code, Content-Type and body.
func rawGet(t *testing.T, ts *testServer, path, accept string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.http.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func TestProtobufNegotiation(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	if _, err := ts.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	establish(t, ctx, ts, widgetCRD())
	widget := `{"apiVersion":"example.clusterkit.io/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"replicas":1}}`
	resp, err := http.Post(ts.http.URL+"/apis/example.clusterkit.io/v1/namespaces/default/widgets", "application/json", strings.NewReader(widget))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create widget: %s", resp.Status)
	}

	const (
		cm      = "/api/v1/namespaces/default/configmaps/a"
		widgetP = "/apis/example.clusterkit.io/v1/namespaces/default/widgets/w"
		table   = "application/json;as=Table;v=v1;g=meta.k8s.io"
	)
	for _, tc := range []struct {
		name, path, accept string
		code               int
		contentType        string
	}{
		{"built-in in protobuf", cm, protobufType + ", application/json", 200, protobufType},
		{"built-in, protobuf only", cm, protobufType, 200, protobufType},
		{"built-in list in protobuf", "/api/v1/namespaces/default/configmaps", protobufType, 200, protobufType},
		{"JSON first wins", cm, "application/json, " + protobufType, 200, "application/json"},
		{"kubectl get asks a Table", cm, table + ",application/json", 200, "application/json"},
		{"kubectl -o yaml asks JSON", cm, "application/json", 200, "application/json"},
		{"no Table in protobuf: next range", cm, protobufType + ";as=Table;v=v1;g=meta.k8s.io, application/json", 200, "application/json"},
		{"metadata in protobuf", cm, protobufType + ";as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json", 200, protobufType},
		{"not found in protobuf", "/api/v1/namespaces/default/configmaps/none", protobufType + ", application/json", 404, protobufType},
		{"custom resource falls back to JSON", widgetP, protobufType + ", application/json", 200, "application/json"},
		{"custom resource, protobuf only", widgetP, protobufType, 406, "application/json"},
		{"custom resource metadata in protobuf", widgetP, protobufType + ";as=PartialObjectMetadata;v=v1;g=meta.k8s.io", 200, protobufType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := rawGet(t, ts, tc.path, tc.accept)
			if code != tc.code || ctype != tc.contentType {
				t.Fatalf("got %d %q, want %d %q: %.200q", code, ctype, tc.code, tc.contentType, body)
			}
			if ctype == protobufType && !bytes.HasPrefix(body, []byte("k8s\x00")) {
				t.Errorf("protobuf body lacks the k8s envelope: %.40q", body)
			}
		})
	}
}

// TestProtobufMetadataClient: the metadata client (the garbage collector's) lists and watches
// PartialObjectMetadata in protobuf.
func TestProtobufMetadataClient(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	ct := &contentTypes{seen: map[string]string{}}
	cfg := rest.CopyConfig(ts.config)
	cfg.WrapTransport = ct.wrap
	mc := metadata.NewForConfigOrDie(cfg).Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("default")
	w, err := mc.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := ts.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"k": "v"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := mc.List(ctx, metav1.ListOptions{})
	if err != nil || len(l.Items) != 1 || l.Items[0].Labels["k"] != "v" {
		t.Fatalf("list: %v %+v", err, l)
	}
	select {
	case ev := <-w.ResultChan():
		pm, ok := ev.Object.(*metav1.PartialObjectMetadata)
		if ev.Type != watch.Added || !ok || pm.Name != "a" {
			t.Fatalf("got %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timeout")
	}
	const coll = "/api/v1/namespaces/default/configmaps"
	if got := ct.of("GET " + coll); got != protobufType {
		t.Errorf("metadata list answered %q", got)
	}
	if got := ct.of("GET " + coll + "?watch"); got != protobufWatchType {
		t.Errorf("metadata watch answered %q", got)
	}
}

// TestProtobufWatchGone: a protobuf watch from a compacted revision ends with an ERROR frame
// carrying a 410 Status.
func TestProtobufWatchGone(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	client, _, _ := protobufClient(ts)
	cms := client.CoreV1().ConfigMaps("default")
	a, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rev, old int64
	fmt.Sscan(b.ResourceVersion, &rev)
	fmt.Sscan(a.ResourceVersion, &old)
	if err := ts.store.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
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
		if ev.Type != watch.Error || !ok || st.Code != http.StatusGone {
			t.Fatalf("want ERROR 410 event, got %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timeout")
	}
}
