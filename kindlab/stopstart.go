package kindlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Stop stops every node of the lab — workers first, the control-plane node last — keeping
// everything the cluster holds (etcd's data, every object, the nodes' identities and images):
// Start brings it back, as machines that were shut down and booted again. The nodes' pods stop
// with them; their kubelets start them again on Start.
func (l *Lab) Stop(ctx context.Context, say func(string, ...any)) error {
	if say == nil {
		say = func(string, ...any) {}
	}
	if !l.containers() {
		return fmt.Errorf("lab %s's nodes are network namespaces (made with --node-runtime %s): it cannot be stopped and started, only deleted", l.Name, NodeNamespaces)
	}
	var errs []error
	order := append(l.Workers(), l.ControlPlaneNodes()...)
	for _, n := range order {
		say("stopping node %s", n.Name)
		errs = append(errs, l.stopNodeContainer(ctx, n, 90*time.Second))
		if p, err := l.node(n.Name); err == nil {
			p.PID = 0
		}
	}
	l.removeCgroupParent()
	if l.owns(l.LoadBalancerPID) {
		say("stopping the load balancer")
		errs = append(errs, l.stopOwned(ctx, l.LoadBalancerPID, 10*time.Second))
	}
	l.LoadBalancerPID = 0
	l.Stopped = true
	errs = append(errs, l.save())
	return errors.Join(errs...)
}

// Start starts a stopped lab again (also after the machine rebooted: the lab's bridge and the
// nodes' network namespaces are made again when missing): the control-plane node first, then
// the workers, and returns once every node is Ready.
func (l *Lab) Start(ctx context.Context, say func(string, ...any)) error {
	if say == nil {
		say = func(string, ...any) {}
	}
	if !l.containers() {
		return fmt.Errorf("lab %s's nodes are network namespaces (made with --node-runtime %s): it cannot be stopped and started, only deleted", l.Name, NodeNamespaces)
	}
	if l.Running() {
		return fmt.Errorf("lab %s is running", l.Name)
	}
	if err := l.restoreNetwork(ctx, say); err != nil {
		return err
	}
	if l.LoadBalancerIP != "" {
		if err := l.startLoadBalancer(ctx, say); err != nil {
			return err
		}
	}
	if err := l.startNodes(ctx, say); err != nil {
		return err
	}
	if err := l.waitNodes(ctx, l.Nodes, say); err != nil {
		return err
	}
	l.Stopped = false
	return l.save()
}

// restoreNetwork makes the lab's bridge (with its gateway address) and the nodes' network
// namespaces again where they are missing, as after a reboot.
func (l *Lab) restoreNetwork(ctx context.Context, say func(string, ...any)) error {
	if _, err := net.InterfaceByName(l.Bridge); err != nil {
		say("making bridge %s again", l.Bridge)
		if err := ip(ctx, "link", "add", l.Bridge, "type", "bridge"); err != nil {
			return err
		}
		if err := l.bridgeUp(ctx, fmt.Sprintf("10.250.%d.1", l.Index)); err != nil {
			return err
		}
	}
	for _, n := range l.Nodes {
		if _, err := os.Stat(nsPath(n.NetNS)); err == nil {
			continue
		}
		say("making node %s's network namespace again", n.Name)
		if err := l.nodeNetwork(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
