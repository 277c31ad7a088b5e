package apiserver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/version"
)

func TestStrategicMergePatchKeepsListEntries(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	p := makePod("p")
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
	if _, err := ts.client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := `{"spec":{"containers":[{"name":"c","image":"nginx"}]},"metadata":{"labels":{"new":"yes"}}}`
	for _, tc := range []struct {
		name       string
		pt         types.PatchType
		patch      string
		containers int
		image      string
	}{
		{name: "strategic merges by name", pt: types.StrategicMergePatchType, patch: patch, containers: 2, image: "nginx"},
		{name: "json patch", pt: types.JSONPatchType, patch: `[{"op":"replace","path":"/spec/containers/1/image","value":"alpine"}]`, containers: 2, image: "nginx"},
		{name: "merge patch replaces the list", pt: types.MergePatchType, patch: `{"spec":{"activeDeadlineSeconds":5}}`, containers: 2, image: "nginx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ts.client.CoreV1().Pods("default").Patch(ctx, "p", tc.pt, []byte(tc.patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Spec.Containers) != tc.containers || got.Spec.Containers[0].Image != tc.image {
				t.Fatalf("containers %+v", got.Spec.Containers)
			}
		})
	}
	_, err := ts.client.CoreV1().Pods("default").Patch(ctx, "p", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "x"})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("an apply patch without apiVersion and kind: want 400, got %v", err)
	}
	if _, err := ts.client.CoreV1().Pods("default").Patch(ctx, "missing", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("patch missing: %v", err)
	}
}

// do sends a raw request and returns the status code, headers and body.
func do(t *testing.T, ts *testServer, method, path, contentType, accept string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.http.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

func TestFieldValidation(t *testing.T) {
	ts := newTestServer(t)
	body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","name":"y"},"data":{"a":"b"},"bogus":1}`)
	cases := []struct {
		name, mode string
		code       int
		mustHave   []string
		warning    bool
	}{
		{name: "strict", mode: "Strict", code: 400, mustHave: []string{`unknown field \"bogus\"`, `duplicate field \"metadata.name\"`}},
		{name: "warn", mode: "Warn", code: 201, warning: true},
		{name: "ignore", mode: "Ignore", code: 201},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Replace(body, []byte(`"y"`), []byte(`"y`+string(rune('0'+i))+`"`), 1)
			code, hdr, out := do(t, ts, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation="+tc.mode, "application/json", "", b)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %s", code, tc.code, out)
			}
			for _, s := range tc.mustHave {
				if !strings.Contains(string(out), s) {
					t.Errorf("response lacks %s: %s", s, out)
				}
			}
			if got := len(hdr.Values("Warning")) > 0; got != tc.warning {
				t.Errorf("warning headers %v, want present=%v", hdr.Values("Warning"), tc.warning)
			}
		})
	}
	// apiVersion/kind not matching the URL.
	code, _, out := do(t, ts, "POST", "/api/v1/namespaces/default/configmaps", "application/json", "",
		[]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"z"}}`))
	if code != 400 {
		t.Fatalf("kind mismatch: %d %s", code, out)
	}
	// Type mismatch.
	code, _, out = do(t, ts, "POST", "/api/v1/namespaces/default/configmaps", "application/json", "",
		[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"z"},"data":"notamap"}`))
	if code != 400 {
		t.Fatalf("type mismatch: %d %s", code, out)
	}
	var st metav1.Status
	if err := json.Unmarshal(out, &st); err != nil || st.Kind != "Status" || st.APIVersion != "v1" || st.Code != 400 {
		t.Fatalf("error body is not a Status: %s", out)
	}
}

func TestBodyLimit(t *testing.T) {
	ts := newTestServer(t, func(c *apiserver.Config) { c.BodyLimit = 1024 })
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 2048) + `"}}`
	code, _, out := do(t, ts, "POST", "/api/v1/namespaces/default/configmaps", "application/json", "", []byte(big))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("code %d: %s", code, out)
	}
}

func TestDiscovery(t *testing.T) {
	ts := newTestServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(ts.config)
	groups, resources, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, g := range groups {
		names[g.Name] = true
	}
	for _, g := range []string{"", "apps", "coordination.k8s.io", "discovery.k8s.io"} {
		if !names[g] {
			t.Errorf("group %q not discovered", g)
		}
	}
	found := map[string]metav1.APIResource{}
	for _, rl := range resources {
		for _, r := range rl.APIResources {
			found[rl.GroupVersion+"/"+r.Name] = r
		}
	}
	for key, check := range map[string]func(metav1.APIResource) bool{
		"v1/pods": func(r metav1.APIResource) bool {
			return r.Namespaced && r.Kind == "Pod" && contains(strings.Join(r.ShortNames, ","), "po")
		},
		"v1/pods/eviction":          func(r metav1.APIResource) bool { return r.Kind == "Eviction" && r.Group == "policy" },
		"v1/pods/exec":              func(r metav1.APIResource) bool { return true },
		"v1/nodes":                  func(r metav1.APIResource) bool { return !r.Namespaced },
		"apps/v1/deployments/scale": func(r metav1.APIResource) bool { return r.Kind == "Scale" && r.Group == "autoscaling" },
		"apps/v1/replicasets":       func(r metav1.APIResource) bool { return contains(strings.Join(r.Categories, ","), "all") },
	} {
		r, ok := found[key]
		if !ok || !check(r) {
			t.Errorf("%s: found=%v %+v", key, ok, r)
		}
	}
	code, hdr, _ := do(t, ts, "GET", "/apis", "", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", nil)
	if code != 200 || hdr.Get("Content-Type") != "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" {
		t.Fatalf("aggregated discovery: %d %q", code, hdr.Get("Content-Type"))
	}
	code, _, out := do(t, ts, "GET", "/version", "", "", nil)
	if code != 200 || !strings.Contains(string(out), `"gitVersion":"`+version.Get().GitVersion+`"`) || !strings.Contains(string(out), `"minor":"`+version.Get().Minor+`"`) {
		t.Fatalf("version: %d %s", code, out)
	}
	for _, p := range []string{"/healthz", "/livez", "/readyz", "/openapi/v3"} {
		if code, _, out := do(t, ts, "GET", p, "", "", nil); code != 200 {
			t.Errorf("%s: %d %s", p, code, out)
		}
	}
}

func TestTableOutput(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	if _, err := ts.client.CoreV1().Pods("default").Create(ctx, makePod("p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	accept := "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
	for _, path := range []string{"/api/v1/namespaces/default/pods", "/api/v1/pods", "/api/v1/namespaces/default/pods/p"} {
		code, _, out := do(t, ts, "GET", path, "", accept, nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, out)
		}
		var tbl metav1.Table
		if err := json.Unmarshal(out, &tbl); err != nil || tbl.Kind != "Table" || len(tbl.Rows) != 1 || len(tbl.ColumnDefinitions) == 0 {
			t.Fatalf("%s: not a 1-row table: %s", path, out)
		}
		if tbl.ResourceVersion == "" {
			t.Errorf("%s: table has no resourceVersion", path)
		}
		var pm metav1.PartialObjectMetadata
		if err := json.Unmarshal(tbl.Rows[0].Object.Raw, &pm); err != nil || pm.Namespace != "default" || pm.Kind != "PartialObjectMetadata" {
			t.Errorf("%s: row object %s", path, tbl.Rows[0].Object.Raw)
		}
	}
}
