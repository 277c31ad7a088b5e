package etcdstore

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// freePeerURLs returns n http URLs on loopback ports free a moment ago.
func freePeerURLs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, "http://"+l.Addr().String())
		_ = l.Close()
	}
	return out
}

// Three embedded members given one initial cluster form it together: a write through one is
// read through another, all three are listed, and with one of them stopped the other two keep
// a quorum — writes still succeed and are read back.
func TestEmbeddedMembersFormACluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := []string{"cp-1", "cp-2", "cp-3"}
	peers := freePeerURLs(t, len(names))
	var initial []string
	for i, n := range names {
		initial = append(initial, n+"="+peers[i])
	}
	members := make([]*Embedded, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() { // a new cluster is ready only once a quorum of its members runs
			defer wg.Done()
			members[i], errs[i] = StartEmbedded(ctx, EmbeddedConfig{DataDir: t.TempDir(), UnsafeNoFsync: true,
				Member: &Member{Name: n, PeerURL: peers[i], InitialCluster: strings.Join(initial, ",")}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %s: %v", names[i], err)
		}
		defer members[i].Close()
	}
	client := func(i int) *clientv3.Client {
		c, err := members[i].Client()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := client(0).Put(ctx, "/k", "v1"); err != nil {
		t.Fatal(err)
	}
	get := func(i int, key string) string {
		r, err := client(i).Get(ctx, key)
		if err != nil {
			t.Fatalf("get %s through %s: %v", key, names[i], err)
		}
		if len(r.Kvs) != 1 {
			return ""
		}
		return string(r.Kvs[0].Value)
	}
	if v := get(2, "/k"); v != "v1" {
		t.Fatalf("read through %s: %q, want v1 (written through %s)", names[2], v, names[0])
	}
	list, err := client(1).MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Members) != 3 {
		t.Fatalf("member list %v, want the three members", list.Members)
	}
	if err := members[1].Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := client(0).Put(ctx, fmt.Sprintf("/after/%d", i), "v"); err != nil {
			t.Fatalf("write with one member of three stopped: %v", err)
		}
	}
	if v := get(2, "/after/4"); v != "v" {
		t.Fatalf("read of a write made with one member stopped: %q", v)
	}
}

// A member's configuration is checked before etcd starts: a name, a peer URL, the initial
// cluster, and a peer scheme that agrees with TLS.
func TestEmbeddedMemberConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		m    Member
		want string
	}{
		{"no name", Member{PeerURL: "http://127.0.0.1:2380", InitialCluster: "a=http://127.0.0.1:2380"}, "needs its name"},
		{"https without TLS", Member{Name: "a", PeerURL: "https://127.0.0.1:2380", InitialCluster: "a=https://127.0.0.1:2380"}, "https if and only if TLS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := embedConfig(t.TempDir(), EmbeddedConfig{Member: &c.m})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("embedConfig = %v, want an error holding %q", err, c.want)
			}
		})
	}
}
