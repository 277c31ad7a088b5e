package proxy

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// GuardServiceRange routes cidr, in the calling process's network namespace, to link, a bridge
// without ports it creates (or reuses). A proxy translates Service traffic before routing, so
// the route only sees what no Service translated (a Service without ready endpoints, an
// unallocated address): that traffic still passes the forward hook, where the proxy refuses it
// at once, and then goes nowhere — also when the proxy has died — instead of following a
// default route off the machine. (An "unreachable" route would answer before the proxy can, with
// ICMP that the kernel rate-limits to one a second, so bursts of connections would time out.)
// A bridge, because the pods' CNI needs bridges anyway; the dummy driver may be missing.
func GuardServiceRange(ctx context.Context, link string, cidr netip.Prefix) error {
	steps := [][]string{
		{"link", "add", link, "type", "bridge"},
		{"link", "set", link, "up"},
		{"route", "replace", cidr.String(), "dev", link},
	}
	for i, st := range steps {
		out, err := exec.CommandContext(ctx, "ip", st...).CombinedOutput()
		if err != nil && !(i == 0 && strings.Contains(string(out), "File exists")) {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(st, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// RemoveServiceRangeGuard deletes the guard link (its route goes with it); a missing link is
// not an error.
func RemoveServiceRangeGuard(link string) error {
	out, err := exec.Command("ip", "link", "del", link).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "Cannot find device") {
		return fmt.Errorf("ip link del %s: %w: %s", link, err, strings.TrimSpace(string(out)))
	}
	return nil
}
