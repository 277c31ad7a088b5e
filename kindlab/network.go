package kindlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
)

func lookPath(name string) (string, error) { return exec.LookPath(name) }

func nsPath(name string) string { return "/run/netns/" + name }

func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// reserveIndex picks N for a new lab — no lab recorded under Root uses it — and claims it at
// once by creating the lab's bridge cklabN: `ip link add` refuses a name that exists, so labs
// created at the same time (two CI jobs, two tests, each with its own Root) never share an index,
// and the network a failed Create removes is its own.
func reserveIndex(ctx context.Context) (int, error) {
	used := map[int]bool{}
	if labs, err := List(Root()); err == nil {
		for _, l := range labs {
			used[l.Index] = true
		}
	}
	for n := 1; n < 250; n++ {
		bridge := fmt.Sprintf("cklab%d", n)
		if used[n] {
			continue
		}
		if _, err := net.InterfaceByName(bridge); err == nil {
			continue
		}
		if err := ip(ctx, "link", "add", bridge, "type", "bridge"); err != nil {
			if _, lerr := net.InterfaceByName(bridge); lerr == nil {
				continue // another lab took it between the check and the add
			}
			return 0, err
		}
		return n, nil
	}
	return 0, errors.New("no free lab index (250 labs exist?): delete some with `clusterkit lab delete`")
}

// createNetwork gives the lab bridge (made by reserveIndex) the gateway address, and per node a namespace with
// eth0 on the bridge, routes to the other nodes' pod subnets, forwarding and bridge netfilter
// on (for the proxy), and no default route.
func (l *Lab) createNetwork(ctx context.Context, gateway string) error {
	if err := l.bridgeUp(ctx, gateway); err != nil {
		return err
	}
	for _, n := range l.Nodes {
		if err := l.nodeNetwork(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// bridgeUp gives the lab bridge its gateway address and brings it up.
func (l *Lab) bridgeUp(ctx context.Context, gateway string) error {
	if err := ip(ctx, "addr", "add", gateway+"/24", "dev", l.Bridge); err != nil {
		return err
	}
	return ip(ctx, "link", "set", l.Bridge, "up")
}

// nodeNetwork makes node n's namespace with eth0 on the lab bridge and routes to the other
// nodes' pod subnets.
func (l *Lab) nodeNetwork(ctx context.Context, n Node) error {
	steps := [][]string{
		{"netns", "add", n.NetNS},
		{"-n", n.NetNS, "link", "set", "lo", "up"},
		{"link", "add", n.HostVeth, "type", "veth", "peer", "name", "eth0", "netns", n.NetNS},
		{"link", "set", n.HostVeth, "master", l.Bridge},
		{"link", "set", n.HostVeth, "up"},
		{"-n", n.NetNS, "addr", "add", n.IP + "/24", "dev", "eth0"},
		{"-n", n.NetNS, "link", "set", "eth0", "up"},
	}
	for _, o := range l.Nodes {
		if o.Name != n.Name {
			steps = append(steps, []string{"-n", n.NetNS, "route", "add", o.PodSubnet, "via", o.IP})
		}
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// removeNetwork deletes the node namespaces (their veths go with them) and the bridge.
func (l *Lab) removeNetwork(ctx context.Context) error {
	var errs []error
	for _, n := range l.Nodes {
		if n.NetNS == "" { // a record without its network (a create that stopped early)
			continue
		}
		if _, err := os.Stat(nsPath(n.NetNS)); err == nil {
			errs = append(errs, ip(ctx, "netns", "del", n.NetNS))
		}
	}
	if _, err := net.InterfaceByName(l.Bridge); err == nil && l.Bridge != "" {
		errs = append(errs, ip(ctx, "link", "del", l.Bridge))
	}
	return errors.Join(errs...)
}
