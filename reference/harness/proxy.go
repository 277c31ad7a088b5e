package harness

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/proxy"
)

// ProxyDataplaneFactory makes the dataplane a proxy programs into the node namespace at nsPath.
type ProxyDataplaneFactory func(nsPath string) interfaces.ProxyDataplane

// NFTablesDataplane is the reference dataplane factory.
func NFTablesDataplane(nsPath string) interfaces.ProxyDataplane {
	return proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: nsPath})
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
	p, err := proxy.New(r.cfg, ProxyLabNode, proxy.Options{Dataplane: r.dp, NodeIPs: r.nodeIPs, KeepRulesOnExit: true, RetryInterval: 200 * time.Millisecond})
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
