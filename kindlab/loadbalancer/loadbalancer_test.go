package loadbalancer_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/kindlab/loadbalancer"
)

// backend answers every connection with its name, then closes it.
func backend(t *testing.T, addr, name string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, name)
			_ = c.Close()
		}
	}()
	return l
}

func ask(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("connecting to the load balancer: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading through the load balancer: %v", err)
	}
	return string(b)
}

// Connections are spread over every backend; with one backend gone every connection still
// reaches one of the others (none fails), and once it is back it gets connections again.
func TestSpreadsAndSurvivesABackendsLoss(t *testing.T) {
	names := []string{"a", "b", "c"}
	var ls []net.Listener
	var addrs []string
	for _, n := range names {
		l := backend(t, "127.0.0.1:0", n)
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	b, err := loadbalancer.New(loadbalancer.Config{Backends: addrs, CheckInterval: 100 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.Serve(ctx, front) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	seen := map[string]int{}
	for range 9 {
		seen[ask(t, front.Addr().String())]++
	}
	for _, n := range names {
		if seen[n] == 0 {
			t.Fatalf("answers %v: backend %s got no connection", seen, n)
		}
	}
	_ = ls[1].Close() // backend b is lost
	seen = map[string]int{}
	for range 12 {
		seen[ask(t, front.Addr().String())]++
	}
	if seen["b"] > 0 || seen["a"]+seen["c"] != 12 {
		t.Fatalf("answers with b gone: %v, want all 12 from a and c", seen)
	}
	ls[1] = backend(t, addrs[1], "b") // back, on its address
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ask(t, front.Addr().String()) == "b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backend b, back, got no connection within 5 s")
		}
	}
}

func TestNoBackendsIsAnError(t *testing.T) {
	if _, err := loadbalancer.New(loadbalancer.Config{}); err == nil {
		t.Fatal("New without backends: want an error")
	}
}
