package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/proxy"
	"github.com/clusterkit/clusterkit/version"
)

// proxyOptions are the flags of `clusterkit proxy`.
type proxyOptions struct {
	kubeconfig string
	nodeName   string
	netns      string
	nodeIPs    string
	table      string
	keepRules  bool
	// serviceCIDRs: the cluster's Service ranges, comma separated ("" for none).
	serviceCIDRs string
}

// newProxyCommand returns `clusterkit proxy`: the service proxy of one node.
func newProxyCommand() *cobra.Command {
	o := &proxyOptions{table: proxy.DefaultTable}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the service proxy (kube-proxy's role) of one node on nftables",
		Long: `proxy follows the Services and EndpointSlices of the cluster of --kubeconfig and programs
an nftables table of its own (--table) so that connections to a Service's ClusterIP, and to its
NodePort on the node's addresses, reach the Service's ready endpoints.

--netns programs the rules into a network namespace (e.g. /run/netns/NODE) instead of the
process's own, which is how nodes sharing one machine each get their own rules. NodePorts are
served on --node-ip (comma separated), or on the InternalIP/ExternalIP addresses of the Node
object named --node-name. On a clean exit (Ctrl-C) the table is removed, unless --keep-rules.
Needs root (CAP_NET_ADMIN).

--service-cidr names the range(s) ClusterIPs are allocated from (the cluster's: for
` + "`clusterkit up`" + ` its --service-cidr, ` + apiserver.DefaultServiceCIDR + ` by default). With it, a connection to an
address in the range that no Service translated (an unallocated ClusterIP, a deleted Service, a
port the Service does not have) is rejected at once (TCP reset, else ICMP port unreachable)
instead of following the default route off the node and timing out. Without it, such traffic is
left to routing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runProxy(ctx, o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.nodeName, "node-name", "", "name of this node (required)")
	f.StringVar(&o.netns, "netns", "", "network namespace to program, e.g. /run/netns/NODE (default: this process's)")
	f.StringVar(&o.nodeIPs, "node-ip", "", "addresses NodePorts are served on, comma separated (default: the Node object's)")
	f.StringVar(&o.table, "table", o.table, "name of the nftables table the proxy owns")
	f.BoolVar(&o.keepRules, "keep-rules", false, "leave the rules in place on exit")
	f.StringVar(&o.serviceCIDRs, "service-cidr", "", "IPv4 range(s) ClusterIPs come from, comma separated: connections to an unallocated address in them are rejected at once instead of following the default route (default: none, left to routing)")
	return cmd
}

func runProxy(ctx context.Context, o *proxyOptions, log io.Writer) error {
	if o.nodeName == "" {
		return fmt.Errorf("--node-name is required")
	}
	var ips []netip.Addr
	for _, s := range strings.Split(o.nodeIPs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("--node-ip %q: %w", s, err)
		}
		ips = append(ips, ip)
	}
	cidrs, err := parseServiceCIDRs(o.serviceCIDRs)
	if err != nil {
		return err
	}
	cfg, err := loadRESTConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	dp := proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: o.netns, Table: o.table, ServiceCIDRs: cidrs})
	defer dp.Close()
	p, err := proxy.New(cfg, o.nodeName, proxy.Options{Dataplane: dp, NodeIPs: ips, KeepRulesOnExit: o.keepRules})
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "proxy %s: node %s, table %s\n", version.Get().GitVersion, o.nodeName, o.table)
	for _, c := range cidrs {
		fmt.Fprintf(log, "proxy: %s rejected unless a Service matches\n", c)
	}
	return p.Run(ctx)
}

// parseServiceCIDRs parses --service-cidr: comma separated IPv4 prefixes, host bits ignored.
func parseServiceCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--service-cidr %q: %w", f, err)
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("--service-cidr %q: only IPv4 ranges are supported", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
