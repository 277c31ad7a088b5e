package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
)

// podNetworkDialer turns --pod-network-netns CIDR=NETNS-PATH values into a dialer that opens a
// connection to an address in CIDR from inside that network namespace, and any other address
// from this process's own. nil without values.
func podNetworkDialer(values []string) (func(ctx context.Context, network, address string) (net.Conn, error), error) {
	if len(values) == 0 {
		return nil, nil
	}
	type route struct {
		prefix netip.Prefix
		nsPath string
	}
	var routes []route
	for _, v := range values {
		cidr, path, ok := strings.Cut(v, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--pod-network-netns %q: want CIDR=NETNS-PATH, e.g. 10.244.0.0/24=/run/netns/node-1", v)
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("--pod-network-netns %q: %w", v, err)
		}
		routes = append(routes, route{prefix: p.Masked(), nsPath: path})
	}
	var d net.Dialer
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err == nil {
			if ip, err := netip.ParseAddr(host); err == nil {
				for _, r := range routes {
					if r.prefix.Contains(ip.Unmap()) {
						return netlab.DialInNS(ctx, r.nsPath, 0, network, address)
					}
				}
			}
		}
		return d.DialContext(ctx, network, address)
	}, nil
}
