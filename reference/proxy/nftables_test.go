package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/proxy"
	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
)

// lab is a node namespace with a client pod and n backend pods serving their hostname on 8080.
type lab struct {
	*netlab.Lab
	client   *netlab.Pod
	backends []*netlab.Pod
	stops    []func()
}

func newLab(t *testing.T, backends int) *lab {
	t.Helper()
	if why := netlab.Supported(); why != "" {
		t.Skip(why)
	}
	ctx := context.Background()
	l, err := netlab.New(ctx, "", "")
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("closing lab: %v", err)
		}
	})
	out := &lab{Lab: l}
	if out.client, err = l.AddPod(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < backends; i++ {
		p, err := l.AddPod(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stop, err := p.ServeHostname(ctx, 8080, fmt.Sprintf("backend-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		out.backends = append(out.backends, p)
		out.stops = append(out.stops, stop)
	}
	return out
}

func (l *lab) endpoints(ready ...bool) []interfaces.ProxyEndpoint {
	var eps []interfaces.ProxyEndpoint
	for i, b := range l.backends {
		r := true
		if i < len(ready) {
			r = ready[i]
		}
		eps = append(eps, interfaces.ProxyEndpoint{IP: b.IP, Port: 8080, Ready: r, Serving: r})
	}
	return eps
}

// get fetches http://addr/ from the client pod.
func (l *lab) get(addr string) (string, error) {
	resp, err := l.client.HTTPClient(3 * time.Second).Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func (l *lab) hits(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := 0; i < n; i++ {
		body, err := l.get(addr)
		if err != nil {
			t.Fatalf("GET %s from the client pod: %v", addr, err)
		}
		out[body]++
	}
	return out
}

func newDataplane(t *testing.T, l *lab) *proxy.NFTables {
	d := proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: l.NSPath()})
	t.Cleanup(func() { _ = d.Cleanup(context.Background()); _ = d.Close() })
	return d
}

var vip = netip.MustParseAddr("10.96.0.10")

func TestNFTablesClusterIPSpreadsOverReadyEndpoints(t *testing.T) {
	l := newLab(t, 3)
	d := newDataplane(t, l)
	ctx := context.Background()
	vs := interfaces.VirtualService{Name: "default/web:", ClusterIP: vip, Port: 80, Protocol: corev1.ProtocolTCP, Endpoints: l.endpoints(true, true, false)}
	if err := d.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}}); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	got := l.hits(t, "10.96.0.10:80", 40)
	if got["backend-0"] == 0 || got["backend-1"] == 0 || got["backend-2"] != 0 || len(got) != 2 {
		t.Fatalf("answers %v: want both ready backends and never the not-ready one", got)
	}
	// Incremental: backend-1 goes away, backend-2 becomes ready.
	vs.Endpoints = l.endpoints(true, false, true)
	if err := d.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}}); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	got = l.hits(t, "10.96.0.10:80", 40)
	if got["backend-1"] != 0 || got["backend-0"] == 0 || got["backend-2"] == 0 {
		t.Fatalf("after the change: %v", got)
	}
	// No ready endpoint: refused at once.
	vs.Endpoints = l.endpoints(false, false, false)
	if err := d.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}}); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	start := time.Now()
	_, err := l.client.Dial(ctx, "tcp", "10.96.0.10:80")
	if !errors.Is(err, syscall.ECONNREFUSED) || time.Since(start) > time.Second {
		t.Fatalf("no ready endpoints: want connection refused at once, got %v after %s", err, time.Since(start))
	}
	// Removing the service removes its rules.
	if err := d.Sync(ctx, interfaces.ProxyState{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.ChainCount(); n != 7 {
		t.Fatalf("chains after removing every service: %d, want the 7 base chains", n)
	}
	if err := d.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := d.TableExists(); ok {
		t.Fatal("Cleanup left the table")
	}
}

func TestNFTablesNodePortAndAffinity(t *testing.T) {
	l := newLab(t, 3)
	d := newDataplane(t, l)
	ctx := context.Background()
	vs := interfaces.VirtualService{Name: "default/web:", ClusterIP: vip, Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080,
		AffinityTimeout: time.Minute, Endpoints: l.endpoints()}
	if err := d.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}, NodeIPs: []netip.Addr{l.Gateway}}); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	got := l.hits(t, "10.96.0.10:80", 20)
	if len(got) != 1 {
		t.Fatalf("ClientIP affinity: one client reached %v", got)
	}
	got = l.hits(t, netip.AddrPortFrom(l.Gateway, 30080).String(), 5)
	if len(got) != 1 {
		t.Fatalf("NodePort with affinity: %v", got)
	}
	for k := range got {
		if !strings.HasPrefix(k, "backend-") {
			t.Fatalf("NodePort answer %q", k)
		}
	}
}

func TestNFTablesRestartKeepsEstablishedConnections(t *testing.T) {
	l := newLab(t, 2)
	ctx := context.Background()
	vs := interfaces.VirtualService{Name: "default/web:", ClusterIP: vip, Port: 80, Protocol: corev1.ProtocolTCP, Endpoints: l.endpoints()}
	d1 := proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: l.NSPath()})
	if err := d1.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}}); err != nil {
		t.Fatal(err)
	}
	conn, err := l.client.Dial(ctx, "tcp", "10.96.0.10:80")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = d1.Close() // the process exits without cleaning up
	d2 := newDataplane(t, l)
	if err := d2.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}}); err != nil {
		t.Fatalf("resync after restart: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatalf("established connection broken by the resync: %v", err)
	}
	b, err := io.ReadAll(conn)
	if err != nil || !strings.Contains(string(b), "backend-") {
		t.Fatalf("established connection after resync: %q %v", b, err)
	}
	if got := l.hits(t, "10.96.0.10:80", 10); len(got) == 0 {
		t.Fatal("no answers after resync")
	}
}

func TestNFTablesRejectsUnprogrammedServiceAddresses(t *testing.T) {
	cases := []struct {
		name    string
		cidrs   []netip.Prefix
		refused bool // an unprogrammed address of the range gets a reset at once
	}{
		{name: "service CIDR given: catch-all reject", cidrs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}, refused: true},
		{name: "no service CIDR: no catch-all", refused: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, 2)
			d := proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: l.NSPath(), ServiceCIDRs: tc.cidrs})
			t.Cleanup(func() { _ = d.Cleanup(context.Background()); _ = d.Close() })
			ctx := context.Background()
			vs := interfaces.VirtualService{Name: "default/web:", ClusterIP: vip, Port: 80, Protocol: corev1.ProtocolTCP, Endpoints: l.endpoints()}
			if err := d.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}}); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			// Programmed services still work: the catch-all runs after their translation.
			if got := l.hits(t, "10.96.0.10:80", 10); got["backend-0"]+got["backend-1"] != 10 {
				t.Fatalf("programmed service: %v", got)
			}
			addrs := []string{"10.96.0.99:80", "10.96.255.254:443", "10.96.0.10:81"}
			if !tc.refused {
				addrs = addrs[:1] // each waits for its timeout
			}
			for _, addr := range addrs {
				dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				start := time.Now()
				conn, err := l.client.Dial(dctx, "tcp", addr)
				cancel()
				if conn != nil {
					conn.Close()
				}
				refused := errors.Is(err, syscall.ECONNREFUSED) && time.Since(start) < time.Second
				if refused != tc.refused {
					t.Fatalf("dial %s: %v after %s; want refused at once = %v", addr, err, time.Since(start), tc.refused)
				}
			}
			if tc.refused {
				// Outside the range nothing changes: not answered by the proxy's reject.
				dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				conn, err := l.client.Dial(dctx, "tcp", "10.97.0.1:80")
				cancel()
				if conn != nil {
					conn.Close()
				}
				if errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("dial outside the service range was rejected by the proxy: %v", err)
				}
			}
		})
	}
}

// getFrom fetches http://addr/ from pod p (a new connection).
func getFrom(p *netlab.Pod, addr string) (string, error) {
	resp, err := p.HTTPClient(3 * time.Second).Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestNFTablesHairpin: a pod that is an endpoint of a Service reaches itself through the
// Service's ClusterIP and through its NodePort on the node's address. The translated connection
// must be masqueraded to the node's address, or the pod answers its own SYN directly (from
// pod:8080 rather than the VIP) and the client socket never sees a reply. (The lab bridge has
// bridge-nf-call-iptables on, so the translated SYN is bridged back out of the pod's own port:
// that needs the port's hairpin mode, which netlab.Lab.AddPod sets as the bridge CNI plugin
// does.)
func TestNFTablesHairpin(t *testing.T) {
	l := newLab(t, 2)
	d := newDataplane(t, l)
	ctx := context.Background()
	self := l.backends[0]
	vs := interfaces.VirtualService{Name: "default/web:", ClusterIP: vip, Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080,
		Endpoints: l.endpoints(true, false)}
	sync := func() {
		t.Helper()
		if err := d.Sync(ctx, interfaces.ProxyState{Services: []interfaces.VirtualService{vs}, NodeIPs: []netip.Addr{l.Gateway}}); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}
	fromSelf := func(addr string, n int) map[string]int {
		t.Helper()
		out := map[string]int{}
		for i := 0; i < n; i++ {
			body, err := getFrom(self, addr)
			if err != nil {
				t.Fatalf("GET %s from endpoint backend-0 itself: %v", addr, err)
			}
			out[body]++
		}
		return out
	}
	sync()
	addrs := []string{"10.96.0.10:80", netip.AddrPortFrom(l.Gateway, 30080).String()}
	for _, addr := range addrs {
		if got := fromSelf(addr, 3); got["backend-0"] != 3 {
			t.Fatalf("GET %s from the only endpoint itself: %v, want its own hostname", addr, got)
		}
		if got := l.hits(t, addr, 3); got["backend-0"] != 3 {
			t.Fatalf("GET %s from another pod: %v", addr, got)
		}
	}
	// Incremental: a second endpoint joins; the pod still reaches itself (and the other one).
	vs.Endpoints = l.endpoints(true, true)
	sync()
	for _, addr := range addrs {
		if got := fromSelf(addr, 30); got["backend-0"] == 0 || got["backend-1"] == 0 {
			t.Fatalf("GET %s from backend-0 with two endpoints: %v, want both", addr, got)
		}
	}
	// The pod is the endpoint of a second service too; removing the first keeps the second's
	// hairpin working.
	other := interfaces.VirtualService{Name: "default/other:", ClusterIP: netip.MustParseAddr("10.96.0.11"), Port: 80, Protocol: corev1.ProtocolTCP,
		Endpoints: l.endpoints(true, false)}
	for _, st := range []interfaces.ProxyState{{Services: []interfaces.VirtualService{vs, other}}, {Services: []interfaces.VirtualService{other}}} {
		if err := d.Sync(ctx, st); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if got := fromSelf("10.96.0.11:80", 3); got["backend-0"] != 3 {
			t.Fatalf("GET 10.96.0.11:80 from its endpoint itself with %d services: %v", len(st.Services), got)
		}
	}
}
