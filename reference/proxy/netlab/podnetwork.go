package netlab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// SandboxNetwork is one pod's network namespace as a CRI runtime uses it. It is an alias of the
// same interface literal as cri/simruntime.SandboxNetwork, so a *PodNetwork is a
// simruntime.PodNetwork without this package importing cri/.
type SandboxNetwork = interface {
	// IP is the pod's address.
	IP() netip.Addr
	// Listen opens a listener inside the namespace.
	Listen(network, address string) (net.Listener, error)
	// Dial opens a connection from inside the namespace.
	Dial(ctx context.Context, network, address string) (net.Conn, error)
	// Close removes the namespace.
	Close() error
}

// PodNetwork plays a CNI plugin for a CRI runtime (cri/simruntime.Options.PodNetwork): every
// sandbox becomes a pod of the lab.
type PodNetwork struct {
	lab *Lab
}

// PodNetwork returns an adapter that attaches sandboxes to the lab as pods.
func (l *Lab) PodNetwork() *PodNetwork { return &PodNetwork{lab: l} }

// Attach creates a pod namespace on the lab bridge for one sandbox (the sandbox ID is not part
// of the namespace's name, which follows the lab's). A pod whose setup fails halfway is left for
// Lab.Close.
func (n *PodNetwork) Attach(ctx context.Context, sandboxID string) (SandboxNetwork, error) {
	p, err := n.lab.AddPod(ctx)
	if err != nil {
		return nil, fmt.Errorf("attach sandbox %s to lab %s: %w", sandboxID, n.lab.Name, err)
	}
	return &PodNamespace{Pod: p}, nil
}

// PodNamespace is a lab pod serving as one sandbox's network.
type PodNamespace struct {
	Pod *Pod

	mu      sync.Mutex
	removed bool
}

// IP is the pod's address on the lab bridge.
func (s *PodNamespace) IP() netip.Addr { return s.Pod.IP }

// Listen opens a listener on address inside the pod's namespace.
func (s *PodNamespace) Listen(network, address string) (net.Listener, error) {
	var ln net.Listener
	err := InNS(s.Pod.NSPath(), func() error {
		var err error
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

// Dial opens a connection from inside the pod's namespace.
func (s *PodNamespace) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return s.Pod.Dial(ctx, network, address)
}

// Close deletes the pod's namespace (its veth pair goes with it) and drops the pod from the lab.
// Closing twice, or after the namespace is gone, succeeds.
func (s *PodNamespace) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Pod.lab.RemovePod(ctx, s.Pod); err != nil {
		return err
	}
	s.removed = true
	return nil
}
