package harness_test

import (
	"context"
	"net/http"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// get answers the status code of GET path through cfg's identity.
func get(t *testing.T, cfg *rest.Config, path string) int {
	t.Helper()
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, cfg.Host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestProfiling: with Config.Profiling the closed server serves /debug/pprof/ to a cluster
// administrator only (kube-apiserver's --profiling, authorized as non-resource URLs); without
// it the path does not exist.
func TestProfiling(t *testing.T) {
	for _, on := range []bool{true, false} {
		h := harness.ModifiedAuth("profiling", harness.MemoryStore(), func(c *apiserver.Config) { c.Profiling = on })
		srv, err := h.Connect(context.Background(), t)
		if err != nil {
			t.Fatal(err)
		}
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		for _, p := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
			if got := get(t, srv.Admin, p); got != want {
				t.Errorf("profiling %v: admin GET %s = %d, want %d", on, p, got, want)
			}
		}
		alice := rest.CopyConfig(srv.Admin)
		alice.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
		if got := get(t, alice, "/debug/pprof/heap"); got != http.StatusForbidden {
			t.Errorf("profiling %v: alice GET /debug/pprof/heap = %d, want 403", on, got)
		}
		if got := get(t, rest.AnonymousClientConfig(srv.Admin), "/debug/pprof/heap"); got != http.StatusForbidden && got != http.StatusUnauthorized {
			t.Errorf("profiling %v: anonymous GET /debug/pprof/heap = %d, want 401 or 403", on, got)
		}
	}
}
