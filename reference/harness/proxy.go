package harness

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/proxy"
	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
)

// ProxyDataplaneFactory makes the dataplane a proxy programs into the node namespace at nsPath.
type ProxyDataplaneFactory func(nsPath string) interfaces.ProxyDataplane

// NFTablesDataplane is the reference dataplane factory.
func NFTablesDataplane(nsPath string) interfaces.ProxyDataplane {
	return proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: nsPath})
}

// NetlabProxy runs the reference proxy with the dataplane from newDP on a network lab per spec
// (host-runtime level, no kubelet): a node namespace with a bridge, backends and a client as
// namespaces on it, an in-process reference API server on the store harness. It needs root;
// Supported says why not. Every namespace it makes starts with netlab.DefaultPrefix and is
// removed when the spec ends (scripts/cleanup-netlabs.sh removes leftovers of killed runs).
func NetlabProxy(name string, store conformance.StoreHarness, newDP ProxyDataplaneFactory) conformance.ProxyHarness {
	return conformance.ProxyHarness{
		Name:       name,
		CanRestart: true,
		Node: func(ctx context.Context, c conformance.Cleaner) (*conformance.ProxyNode, error) {
			if why := netlab.Supported(); why != "" {
				return nil, fmt.Errorf("proxy lab: %s", why)
			}
			cfg, err := Cluster(store)(ctx, c)
			if err != nil {
				return nil, err
			}
			lab, err := netlab.New(ctx, "", "")
			if err != nil {
				return nil, err
			}
			c.Cleanup(func() { _ = lab.Close() })
			client, err := lab.AddPod(ctx)
			if err != nil {
				return nil, err
			}
			run := &proxyRun{cfg: cfg, nsPath: lab.NSPath(), nodeIPs: []netip.Addr{lab.Gateway}, newDP: newDP}
			c.Cleanup(run.cleanup)
			if err := run.start(); err != nil {
				return nil, err
			}
			return &conformance.ProxyNode{
				Config:  cfg,
				NodeIPs: []netip.Addr{lab.Gateway},
				Backend: func(ctx context.Context, hostname string, port int) (netip.Addr, error) {
					pod, err := lab.AddPod(ctx)
					if err != nil {
						return netip.Addr{}, err
					}
					stop, err := pod.ServeHostname(context.Background(), port, hostname)
					if err != nil {
						return netip.Addr{}, err
					}
					c.Cleanup(stop)
					return pod.IP, nil
				},
				Get: func(ctx context.Context, addr netip.AddrPort) (string, error) {
					return netlabGet(ctx, client, addr)
				},
				Connect: func(ctx context.Context, addr netip.AddrPort) error {
					conn, err := client.Dial(ctx, "tcp", addr.String())
					if err != nil {
						return err
					}
					return conn.Close()
				},
				StopProxy:  func(context.Context) error { run.stop(true); return nil },
				StartProxy: func(context.Context) error { return run.start() },
			}, nil
		},
	}
}

// proxyRun is the proxy under test: started, crashed (stop keeping its rules) and started again
// as a new process would be.
type proxyRun struct {
	cfg     *rest.Config
	nsPath  string
	nodeIPs []netip.Addr
	newDP   ProxyDataplaneFactory

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
	dp     interfaces.ProxyDataplane
}

func (r *proxyRun) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return fmt.Errorf("proxy already running")
	}
	r.dp = r.newDP(r.nsPath)
	p, err := proxy.New(r.cfg, "lab-node", proxy.Options{Dataplane: r.dp, NodeIPs: r.nodeIPs, KeepRulesOnExit: true, RetryInterval: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- p.Run(ctx) }()
	return nil
}

// stop ends the running proxy; with crash its rules stay, as after a kill.
func (r *proxyRun) stop(crash bool) {
	r.mu.Lock()
	cancel, done, dp := r.cancel, r.done, r.dp
	r.cancel = nil
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	if c, ok := dp.(interface{ Close() error }); ok {
		_ = c.Close()
	}
	if !crash {
		ctx, cancelC := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelC()
		clean := r.newDP(r.nsPath)
		_ = clean.Cleanup(ctx)
		if c, ok := clean.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

func (r *proxyRun) cleanup() { r.stop(false) }

func netlabGet(ctx context.Context, pod *netlab.Pod, addr netip.AddrPort) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pod.Dial(ctx, "tcp", addr.String())
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr); err != nil {
		return "", err
	}
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	resp := string(buf)
	if i := indexBody(resp); i >= 0 {
		return resp[i:], nil
	}
	return "", fmt.Errorf("malformed HTTP response from %s: %q", addr, resp)
}

func indexBody(resp string) int {
	for i := 0; i+3 < len(resp); i++ {
		if resp[i:i+4] == "\r\n\r\n" {
			return i + 4
		}
	}
	return -1
}
