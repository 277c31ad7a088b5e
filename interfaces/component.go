package interfaces

import "context"

// Component is a running cluster component — a scheduler, a controller
// manager, a kubelet, a proxy — built from a *rest.Config and talking to the
// cluster only through the API server.
//
// Constructors of components must not dial the network; all I/O starts in
// Run. A component must tolerate the API server being unavailable for a while
// (it retries and catches up when it returns) and must resume correctly when
// restarted, rebuilding its state from the API rather than from memory.
type Component interface {
	// Name identifies the component in logs and reports ("scheduler",
	// "kubelet/node-1").
	Name() string
	// Run runs the component until ctx is done. It returns nil after a clean
	// stop and an error if the component cannot run at all (bad
	// configuration); transient API errors are retried, not returned.
	Run(ctx context.Context) error
}
