// Command cksim serves the simulated CRI runtime on a unix socket until
// interrupted; scripts/critest.sh runs the CRI validation suite against it.
//
//	cksim --socket /tmp/sim.sock [--subnet 127.64.0.0/20] [--start-latency 0s]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/clusterkit/clusterkit/cri/simruntime"
)

func main() {
	socket := flag.String("socket", "/tmp/clusterkit-sim.sock", "unix socket to serve CRI on")
	subnet := flag.String("subnet", "127.64.0.0/20", "loopback subnet for pod IPs")
	startLatency := flag.Duration("start-latency", 0, "added to every StartContainer")
	flag.Parse()
	if err := run(*socket, *subnet, *startLatency); err != nil {
		fmt.Fprintln(os.Stderr, "cksim:", err)
		os.Exit(1)
	}
}

func run(socket, subnet string, startLatency time.Duration) error {
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return err
	}
	rt, err := simruntime.New(simruntime.Options{PodSubnet: p, StartLatency: startLatency})
	if err != nil {
		return err
	}
	_ = os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	defer os.Remove(socket)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "cksim: serving CRI (%s) on %s\n", simruntime.RuntimeName, socket)
	return rt.Serve(ctx, ln)
}
