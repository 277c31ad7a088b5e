package simruntime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PodNetwork gives sandboxes network namespaces of their own (a CNI
// plugin's role). With Options.PodNetwork set, a sandbox that does not use
// the host network gets its IP from Attach, its containers listen inside
// its namespace, and its exec commands connect from inside it.
type PodNetwork interface {
	// Attach creates the network of one sandbox.
	Attach(ctx context.Context, sandboxID string) (SandboxNetwork, error)
}

// SandboxNetwork is one sandbox's network namespace.
//
// It is an alias of an interface literal, not a defined type, so that a
// package can implement PodNetwork without importing this one: its Attach
// returns its own alias of the same literal (e.g.
// reference/proxy/netlab.SandboxNetwork), which is the identical type.
type SandboxNetwork = interface {
	// IP is the sandbox's address, reported as the pod IP.
	IP() netip.Addr
	// Listen opens a listener inside the namespace.
	Listen(network, address string) (net.Listener, error)
	// Dial opens a connection from inside the namespace.
	Dial(ctx context.Context, network, address string) (net.Conn, error)
	// Close removes the namespace.
	Close() error
}

// attachNetwork creates a sandbox's network through Options.PodNetwork,
// without holding r.mu (creating a namespace runs commands).
func (r *Runtime) attachNetwork(ctx context.Context, sandboxID string) (SandboxNetwork, error) {
	sn, err := r.opts.PodNetwork.Attach(ctx, sandboxID)
	if err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Errorf(codes.Unknown, "failed to setup network for sandbox %q: %v", sandboxID, err)
	}
	if sn == nil {
		return nil, status.Errorf(codes.Unknown, "failed to setup network for sandbox %q: pod network returned no network", sandboxID)
	}
	if ip := sn.IP(); !ip.IsValid() {
		err := fmt.Errorf("pod network gave no IP")
		if cerr := sn.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, status.Errorf(codes.Unknown, "failed to setup network for sandbox %q: %v", sandboxID, err)
	}
	return sn, nil
}

// closeNetworks removes sandbox networks (without holding r.mu).
func closeNetworks(nets []SandboxNetwork) error {
	var errs []error
	for _, sn := range nets {
		if err := sn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
