package apiserver_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// testServer is one API server over a fresh memory store, served by httptest.
type testServer struct {
	t      *testing.T
	srv    *apiserver.Server
	http   *httptest.Server
	store  *memory.Store
	config *rest.Config
	client kubernetes.Interface
	now    time.Time
}

type option func(*apiserver.Config)

func newTestServer(t *testing.T, opts ...option) *testServer {
	t.Helper()
	store := memory.New()
	ts := &testServer{t: t, store: store, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := apiserver.Config{Store: store, NamespaceCleanupInterval: 20 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := apiserver.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Bootstrap(context.Background()); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	ts.srv = srv
	ts.http = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.http.CloseClientConnections()
		ts.http.Close()
		_ = srv.Close()
		_ = store.Close()
	})
	ts.config = &rest.Config{Host: ts.http.URL, QPS: 1000, Burst: 1000}
	ts.client = kubernetes.NewForConfigOrDie(ts.config)
	return ts
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it is true or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
