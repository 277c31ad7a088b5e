package apitest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// Start serves a fresh API server until the test ends and returns its
// configuration.
func Start(t testing.TB) *rest.Config {
	t.Helper()
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Logf("apitest: the API server stopped with: %v", err)
		}
		_ = srv.Close()
		_ = store.Close()
	})
	return &rest.Config{Host: "http://" + ln.Addr().String(), QPS: -1}
}
