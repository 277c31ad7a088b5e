package apiserver_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// TestServeCompactsTheStore: with a CompactionInterval, Serve compacts the store to the
// revision of the previous tick, so old revisions become Expired while current ones stay.
func TestServeCompactsTheStore(t *testing.T) {
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store, CompactionInterval: 50 * time.Millisecond, ErrorLog: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	old, err := store.Create(ctx, "/registry/configmaps/default/first", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Writes keep the revision moving, as a live cluster's do.
		if _, err := store.Create(ctx, "/registry/configmaps/default/n-"+time.Now().Format("150405.000000000"), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		_, err := store.List(ctx, "/registry/configmaps/", interfaces.ListOptions{Revision: old})
		if interfaces.IsExpired(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revision %d was never compacted (last list: %v)", old, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := store.List(ctx, "/registry/configmaps/", interfaces.ListOptions{}); err != nil {
		t.Fatalf("the current revision after compaction: %v", err)
	}
}
