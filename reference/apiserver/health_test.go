package apiserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// revisionFailingStore fails CurrentRevision while fail is set.
type revisionFailingStore struct {
	interfaces.Store
	fail *atomic.Bool
}

func (s revisionFailingStore) CurrentRevision(ctx context.Context) (int64, error) {
	if s.fail.Load() {
		return 0, errors.New("etcd is down")
	}
	return s.Store.CurrentRevision(ctx)
}

func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHealthEndpointsListChecks(t *testing.T) {
	fail := &atomic.Bool{}
	ts := newTestServer(t, func(c *apiserver.Config) { c.Store = revisionFailingStore{Store: c.Store, fail: fail} })
	for _, ep := range []string{"livez", "readyz", "healthz"} {
		code, body := getText(t, ts.http.URL+"/"+ep)
		if code != 200 || body != "ok" {
			t.Errorf("/%s: %d %q", ep, code, body)
		}
		code, body = getText(t, ts.http.URL+"/"+ep+"?verbose")
		if code != 200 || !strings.HasPrefix(body, "[+]ping ok\n[+]log ok\n[+]etcd ok\n") ||
			!strings.Contains(body, "[+]poststarthook/bootstrap-controller ok\n") || !strings.HasSuffix(body, ep+" check passed\n") {
			t.Errorf("/%s?verbose: %d %q", ep, code, body)
		}
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			name, ok := strings.CutPrefix(line, "[+]")
			if !ok {
				continue
			}
			name = strings.TrimSuffix(name, " ok")
			if code, one := getText(t, ts.http.URL+"/"+ep+"/"+name); code != 200 || one != "ok" {
				t.Errorf("/%s/%s: %d %q", ep, name, code, one)
			}
		}
	}
	if code, body := getText(t, ts.http.URL+"/readyz?verbose&exclude=etcd&exclude=nosuch"); code != 200 ||
		!strings.Contains(body, "[+]etcd excluded: ok\n") || !strings.Contains(body, `no matches for "nosuch"`) {
		t.Errorf("exclude: %d %q", code, body)
	}
	if code, _ := getText(t, ts.http.URL+"/readyz/nosuch"); code != 404 {
		t.Errorf("/readyz/nosuch: %d, want 404", code)
	}
	if !strings.Contains(func() string { _, b := getText(t, ts.http.URL+"/readyz?verbose"); return b }(), "[+]shutdown ok\n") {
		t.Error("/readyz has no shutdown check")
	}

	fail.Store(true)
	code, body := getText(t, ts.http.URL+"/readyz")
	if code != 500 || !strings.Contains(body, "[+]ping ok\n") || !strings.Contains(body, "[-]etcd failed: reason withheld\n") ||
		strings.Contains(body, "etcd is down") || !strings.HasSuffix(body, "readyz check failed\n") {
		t.Errorf("failing /readyz: %d %q", code, body)
	}
	if code, body := getText(t, ts.http.URL+"/livez/etcd"); code != 500 || !strings.Contains(body, "etcd is down") {
		t.Errorf("failing /livez/etcd: %d %q", code, body)
	}
	if code, body := getText(t, ts.http.URL+"/readyz?exclude=etcd&exclude=etcd-readiness"); code != 200 || body != "ok" {
		t.Errorf("failing check excluded: %d %q", code, body)
	}
}

// TestReadyzWaitsForTheAuthorizer: until the authorizer's informers have synced (Access.Synced),
// /readyz's informer-sync check fails (kube-apiserver's does), while /livez passes.
func TestReadyzWaitsForTheAuthorizer(t *testing.T) {
	synced := &atomic.Bool{}
	ts := newTestServer(t, func(c *apiserver.Config) { c.Access.Synced = synced.Load })
	if code, body := getText(t, ts.http.URL+"/readyz?verbose"); code != 500 || !strings.Contains(body, "[-]informer-sync failed: reason withheld\n") {
		t.Errorf("/readyz before the authorizer synced: %d %q", code, body)
	}
	if code, body := getText(t, ts.http.URL+"/readyz/informer-sync"); code != 500 || !strings.Contains(body, "not synced") {
		t.Errorf("/readyz/informer-sync before the authorizer synced: %d %q", code, body)
	}
	if code, body := getText(t, ts.http.URL+"/livez"); code != 200 || body != "ok" {
		t.Errorf("/livez before the authorizer synced: %d %q", code, body)
	}
	synced.Store(true)
	if code, body := getText(t, ts.http.URL+"/readyz"); code != 200 || body != "ok" {
		t.Errorf("/readyz once the authorizer synced: %d %q", code, body)
	}
}
