package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/clusterkit/clusterkit/interfaces"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// TestSnapshotSaveRestoreCommandsRoundTrip10000Keys drives the CLI exactly as
// a user would: fill an embedded etcd with 10,000 keys, `etcd snapshot save`,
// `etcd snapshot restore` into a new data dir, and compare every key.
func TestSnapshotSaveRestoreCommandsRoundTrip10000Keys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, restored, file := filepath.Join(dir, "src"), filepath.Join(dir, "restored"), filepath.Join(dir, "backup.db")
	store, err := etcdstore.Open(ctx, etcdstore.Config{DataDir: src, UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	for i := range n {
		if _, err := store.Create(ctx, fmt.Sprintf("/registry/configmaps/default/cm-%05d", i), []byte(fmt.Sprintf("value-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := newRootCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("clusterkit %v: %v\n%s", args, err, out.String())
		}
	}
	run("etcd", "snapshot", "save", file, "--data-dir", src)
	run("etcd", "snapshot", "restore", file, "--data-dir", restored)
	back, err := etcdstore.Open(ctx, etcdstore.Config{DataDir: restored, UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	res, err := back.List(ctx, "/registry/", interfaces.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != n {
		t.Fatalf("restored %d keys, want %d", len(res.Items), n)
	}
	for i, kv := range res.Items {
		wantKey, wantValue := fmt.Sprintf("/registry/configmaps/default/cm-%05d", i), fmt.Sprintf("value-%d", i)
		if kv.Key != wantKey || string(kv.Value) != wantValue {
			t.Fatalf("restored item %d = %s=%q, want %s=%q", i, kv.Key, kv.Value, wantKey, wantValue)
		}
	}
}
