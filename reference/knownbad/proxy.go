package knownbad

import (
	"context"
	"strings"
	"sync"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/proxy"
)

// Known-bad proxy dataplanes: each wraps a working dataplane and bends the desired state on its
// way in, the way a buggy proxy would. The proxy specs must reject every one of them.

// ProxySendingToNotReady sends new connections to endpoints that are not ready.
type ProxySendingToNotReady struct{ Dataplane interfaces.ProxyDataplane }

// Sync marks every endpoint ready.
func (p ProxySendingToNotReady) Sync(ctx context.Context, s interfaces.ProxyState) error {
	return p.Dataplane.Sync(ctx, mapEndpoints(s, func(_ interfaces.VirtualService, eps []interfaces.ProxyEndpoint) []interfaces.ProxyEndpoint {
		for i := range eps {
			eps[i].Ready = true
		}
		return eps
	}))
}

// Cleanup passes through.
func (p ProxySendingToNotReady) Cleanup(ctx context.Context) error { return p.Dataplane.Cleanup(ctx) }

// ProxyKeepingDeletedEndpoints never forgets an endpoint once seen ready.
type ProxyKeepingDeletedEndpoints struct {
	Dataplane interfaces.ProxyDataplane
	mu        sync.Mutex
	seen      map[string]map[interfaces.ProxyEndpoint]bool
}

// NewProxyKeepingDeletedEndpoints wraps dp.
func NewProxyKeepingDeletedEndpoints(dp interfaces.ProxyDataplane) *ProxyKeepingDeletedEndpoints {
	return &ProxyKeepingDeletedEndpoints{Dataplane: dp, seen: map[string]map[interfaces.ProxyEndpoint]bool{}}
}

// Sync adds every endpoint ever seen ready back to its service.
func (p *ProxyKeepingDeletedEndpoints) Sync(ctx context.Context, s interfaces.ProxyState) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Dataplane.Sync(ctx, mapEndpoints(s, func(vs interfaces.VirtualService, eps []interfaces.ProxyEndpoint) []interfaces.ProxyEndpoint {
		seen := p.seen[vs.Name]
		if seen == nil {
			seen = map[interfaces.ProxyEndpoint]bool{}
			p.seen[vs.Name] = seen
		}
		present := map[interfaces.ProxyEndpoint]bool{}
		for _, e := range eps {
			if e.Ready {
				seen[interfaces.ProxyEndpoint{IP: e.IP, Port: e.Port, Ready: true}] = true
			}
			present[interfaces.ProxyEndpoint{IP: e.IP, Port: e.Port, Ready: true}] = true
		}
		for e := range seen {
			if !present[e] {
				eps = append(eps, e)
			}
		}
		return eps
	}))
}

// Cleanup passes through.
func (p *ProxyKeepingDeletedEndpoints) Cleanup(ctx context.Context) error {
	return p.Dataplane.Cleanup(ctx)
}

// ProxyIgnoringPortMapping sends to the endpoint's IP on the Service port, not the target port.
type ProxyIgnoringPortMapping struct{ Dataplane interfaces.ProxyDataplane }

// Sync rewrites every endpoint port to the service port.
func (p ProxyIgnoringPortMapping) Sync(ctx context.Context, s interfaces.ProxyState) error {
	return p.Dataplane.Sync(ctx, mapEndpoints(s, func(vs interfaces.VirtualService, eps []interfaces.ProxyEndpoint) []interfaces.ProxyEndpoint {
		for i := range eps {
			eps[i].Port = vs.Port
		}
		return eps
	}))
}

// Cleanup passes through.
func (p ProxyIgnoringPortMapping) Cleanup(ctx context.Context) error { return p.Dataplane.Cleanup(ctx) }

// ProxyIgnoringAffinity drops ClientIP session affinity: every connection is spread anew.
type ProxyIgnoringAffinity struct{ Dataplane interfaces.ProxyDataplane }

// Sync clears every service's affinity timeout.
func (p ProxyIgnoringAffinity) Sync(ctx context.Context, s interfaces.ProxyState) error {
	out := mapEndpoints(s, func(_ interfaces.VirtualService, eps []interfaces.ProxyEndpoint) []interfaces.ProxyEndpoint {
		return eps
	})
	for i := range out.Services {
		out.Services[i].AffinityTimeout = 0
	}
	return p.Dataplane.Sync(ctx, out)
}

// Cleanup passes through.
func (p ProxyIgnoringAffinity) Cleanup(ctx context.Context) error { return p.Dataplane.Cleanup(ctx) }

// ProxyIgnoringExternalTrafficPolicy treats externalTrafficPolicy Local as Cluster: NodePort
// connections go to every endpoint, masqueraded.
type ProxyIgnoringExternalTrafficPolicy struct{ Dataplane interfaces.ProxyDataplane }

// Sync gives every "@external" virtual service the endpoints of its ClusterIP one and clears
// ExternalLocal.
func (p ProxyIgnoringExternalTrafficPolicy) Sync(ctx context.Context, s interfaces.ProxyState) error {
	all := map[string][]interfaces.ProxyEndpoint{}
	for _, vs := range s.Services {
		all[vs.Name] = vs.Endpoints
	}
	out := mapEndpoints(s, func(vs interfaces.VirtualService, eps []interfaces.ProxyEndpoint) []interfaces.ProxyEndpoint {
		if base, ok := strings.CutSuffix(vs.Name, "@external"); ok && vs.ExternalLocal {
			return append([]interfaces.ProxyEndpoint(nil), all[base]...)
		}
		return eps
	})
	for i := range out.Services {
		out.Services[i].ExternalLocal = false
	}
	return p.Dataplane.Sync(ctx, out)
}

// Cleanup passes through.
func (p ProxyIgnoringExternalTrafficPolicy) Cleanup(ctx context.Context) error {
	return p.Dataplane.Cleanup(ctx)
}

// ProxyTrustingLeftoverRules is the nftables dataplane of a proxy that, started over a node
// already programmed (after a crash), takes the rules it finds for current and never syncs
// again: whatever changed while it was down stays wrong.
type ProxyTrustingLeftoverRules struct {
	nft *proxy.NFTables
	// frozen: the table was there at the first Sync.
	frozen, started bool
}

// NewProxyTrustingLeftoverRules programs the node namespace at nsPath.
func NewProxyTrustingLeftoverRules(nsPath string) interfaces.ProxyDataplane {
	return &ProxyTrustingLeftoverRules{nft: proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: nsPath})}
}

// Sync does nothing ever again when the first one found the table in place.
func (p *ProxyTrustingLeftoverRules) Sync(ctx context.Context, s interfaces.ProxyState) error {
	if !p.started {
		p.started = true
		exists, err := p.nft.TableExists()
		if err != nil {
			return err
		}
		p.frozen = exists
	}
	if p.frozen {
		return nil
	}
	return p.nft.Sync(ctx, s)
}

// Cleanup passes through.
func (p *ProxyTrustingLeftoverRules) Cleanup(ctx context.Context) error { return p.nft.Cleanup(ctx) }

// Close releases the dataplane's netlink connection.
func (p *ProxyTrustingLeftoverRules) Close() error { return p.nft.Close() }

// ProxyWithoutHairpin is the nftables dataplane without its hairpin masquerade: a pod whose
// connection to a Service is translated back to itself answers itself from its own address,
// which its socket does not accept, so it never gets an answer.
func ProxyWithoutHairpin(nsPath string) interfaces.ProxyDataplane {
	return proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: nsPath, NoHairpinMasquerade: true})
}

// mapEndpoints returns a copy of s with f applied to a copy of each service's endpoints.
func mapEndpoints(s interfaces.ProxyState, f func(interfaces.VirtualService, []interfaces.ProxyEndpoint) []interfaces.ProxyEndpoint) interfaces.ProxyState {
	out := interfaces.ProxyState{NodeIPs: s.NodeIPs, Services: make([]interfaces.VirtualService, len(s.Services))}
	for i, vs := range s.Services {
		vs.Endpoints = f(vs, append([]interfaces.ProxyEndpoint(nil), vs.Endpoints...))
		out.Services[i] = vs
	}
	return out
}
