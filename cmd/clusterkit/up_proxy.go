package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/proxy"
)

// upProxyTable is the nftables table of node's proxy under `up`: one table per node, since
// the nodes of the private containerd share the machine's namespace and bridge.
func upProxyTable(node string) string { return proxy.DefaultTable + "-" + node }

// upProxyNet is where the proxies of `up --runtime containerd` work.
type upProxyNet struct {
	// NodeIP is where NodePorts are served: the pods' bridge gateway (never an
	// address of the machine's uplink).
	NodeIP netip.Addr
	// ServiceCIDR: traffic to it that no Service translated is rejected.
	ServiceCIDR netip.Prefix
	// PodSubnet: the only endpoints programmed (pods of this bridge), so no
	// connection is ever translated towards an address off the machine.
	PodSubnet netip.Prefix
}

// upProxies are the running proxies of `up`.
type upProxies struct {
	proxies []*proxy.Proxy
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// upGuardLink is where the service CIDR is routed while up's proxies run
// (proxy.GuardServiceRange). Device and route stay harmless if up is killed.
const upGuardLink = "ckupguard0"

// startUpProxies runs the reference proxy (nftables, in this process's network namespace,
// where the private containerd's bridge lives) of each node against the API server as rc
// (kube-proxy's identity).
func startUpProxies(ctx context.Context, rc *rest.Config, nodes []string, pn upProxyNet, say func(string, ...any)) (*upProxies, error) {
	// Replies between pods on one bridge must pass the netfilter hooks, or a
	// Service's translation is never undone for them.
	const bridgeNF = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if b, err := os.ReadFile(bridgeNF); err != nil {
		say("proxy: %s is missing (modprobe br_netfilter): a pod reaching a Service whose endpoint is on the same bridge may get no answer", bridgeNF)
	} else if strings.TrimSpace(string(b)) != "1" {
		if err := os.WriteFile(bridgeNF, []byte("1"), 0o644); err != nil {
			say("proxy: cannot set net.bridge.bridge-nf-call-iptables=1 (%v): a pod reaching a Service whose endpoint is on the same bridge may get no answer", err)
		} else {
			say("proxy: set net.bridge.bridge-nf-call-iptables=1 (pods on one bridge reach each other through Services)")
		}
	}
	if err := proxy.GuardServiceRange(ctx, upGuardLink, pn.ServiceCIDR); err != nil {
		return nil, fmt.Errorf("proxy: guarding the service range: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	u := &upProxies{cancel: cancel}
	for _, node := range nodes {
		dp := proxy.NewNFTables(proxy.NFTablesOptions{Table: upProxyTable(node), ServiceCIDRs: []netip.Prefix{pn.ServiceCIDR}})
		p, err := proxy.New(rc, node, proxy.Options{
			Dataplane: podSubnetOnly{inner: dp, subnet: pn.PodSubnet},
			NodeIPs:   []netip.Addr{pn.NodeIP},
		})
		if err != nil {
			u.stop()
			return nil, fmt.Errorf("proxy of %s: %w", node, err)
		}
		u.proxies = append(u.proxies, p)
		say("starting proxy of %s (nftables table %s; NodePorts on %s; %s rejected unless a Service matches)", node, upProxyTable(node), pn.NodeIP, pn.ServiceCIDR)
		u.wg.Go(func() {
			defer dp.Close()
			if err := p.Run(ctx); err != nil {
				say("proxy of %s stopped: %v", node, err)
			} else if ctx.Err() == nil {
				say("proxy of %s stopped", node)
			}
		})
	}
	return u, nil
}

// waitSynced waits until every proxy has programmed its table once (so pods never send
// service traffic to a node without the proxy's rules).
func (u *upProxies) waitSynced(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		done := true
		var last error
		for _, p := range u.proxies {
			if p.Syncs() == 0 {
				done = false
				if err := p.LastError(); err != nil {
					last = err
				}
			}
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("the proxies did not program their tables within %s", timeout), last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the proxies; each removes its table. The guard route goes last.
func (u *upProxies) stop() {
	u.cancel()
	u.wg.Wait()
	_ = proxy.RemoveServiceRangeGuard(upGuardLink)
}

// podSubnetOnly hands the dataplane only endpoints in subnet: an EndpointSlice written by hand
// with any other address is not programmed, so nothing is translated towards the uplink.
type podSubnetOnly struct {
	inner  interfaces.ProxyDataplane
	subnet netip.Prefix
}

func (d podSubnetOnly) Sync(ctx context.Context, state interfaces.ProxyState) error {
	out := interfaces.ProxyState{NodeIPs: state.NodeIPs, Services: make([]interfaces.VirtualService, 0, len(state.Services))}
	for _, vs := range state.Services {
		eps := make([]interfaces.ProxyEndpoint, 0, len(vs.Endpoints))
		for _, e := range vs.Endpoints {
			if d.subnet.Contains(e.IP) {
				eps = append(eps, e)
			}
		}
		vs.Endpoints = eps
		out.Services = append(out.Services, vs)
	}
	return d.inner.Sync(ctx, out)
}

func (d podSubnetOnly) Cleanup(ctx context.Context) error { return d.inner.Cleanup(ctx) }
