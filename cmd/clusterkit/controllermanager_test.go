package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// TestControllerManagerWaitsForTheAPIServer: started beside an API server that is not ready yet
// (a lab's static pods), the controller manager waits for /readyz instead of failing; an API
// server that never gets ready ends the wait with an error naming it.
func TestControllerManagerWaitsForTheAPIServer(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) < 3 {
			http.Error(w, "[-]etcd failed", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	say := func(string, ...any) {}
	if err := waitForAPIServer(context.Background(), &rest.Config{Host: srv.URL}, 10*time.Second, say); err != nil {
		t.Fatalf("waiting for an API server that gets ready: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("/readyz asked %d times, want 3 (two 503s, then ready)", n)
	}

	never := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not ready", http.StatusInternalServerError)
	}))
	defer never.Close()
	err := waitForAPIServer(context.Background(), &rest.Config{Host: never.URL}, 1200*time.Millisecond, say)
	if err == nil || !strings.Contains(err.Error(), "was not ready") || !strings.Contains(err.Error(), never.URL) {
		t.Fatalf("waiting for an API server that is never ready: %v; want an error naming it", err)
	}
}
