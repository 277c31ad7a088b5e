package kindlab

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// startLoadBalancer puts the lab's API address on the lab bridge and starts the load balancer
// there (clusterkit lab load-balancer, a process of its own session, as kind's
// external-load-balancer container), in front of every control-plane node's API server.
func (l *Lab) startLoadBalancer(ctx context.Context, say func(string, ...any)) error {
	if err := ip(ctx, "addr", "replace", l.LoadBalancerIP+"/24", "dev", l.Bridge); err != nil {
		return err
	}
	args := []string{"lab", "load-balancer", "--listen", net.JoinHostPort(l.LoadBalancerIP, strconv.Itoa(apiPort))}
	var backends []string
	for _, n := range l.ControlPlaneNodes() {
		backend := net.JoinHostPort(n.IP, strconv.Itoa(apiPort))
		args = append(args, "--backend", backend)
		backends = append(backends, backend)
	}
	pid, err := spawn(filepath.Join(l.Dir, "logs", "load-balancer.log"), "", filepath.Join(l.Dir, "bin", "clusterkit"), args...)
	if err != nil {
		return fmt.Errorf("starting the load balancer: %w", err)
	}
	l.LoadBalancerPID = pid
	say("load balancer on %s in front of %s", l.Server, strings.Join(backends, ", "))
	return l.save()
}
