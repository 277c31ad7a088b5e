package interfaces

import (
	"context"
	"time"
)

// Controller is one control loop of a controller manager: a named,
// level-based reconciler of keys.
//
// A controller watches the API (through the informers its runner shares
// between controllers) and maps every change it cares about to keys —
// usually "namespace/name" of the object it manages — which it adds to its
// KeyQueue. The runner pops keys and calls Reconcile with them from a few
// workers; a key is never reconciled by two workers at once, and a key added
// several times before it is popped is reconciled once.
//
// Reconcile is level-based: it reads the current state (from the informers'
// caches or the API), compares it with the desired state and takes the
// smallest action that closes the gap. It must not depend on which event led
// to the call, nor on having seen earlier events: after a restart every key is
// reconciled again from the API's state alone, and that must converge to the
// same result. A key whose object no longer exists is not an error.
type Controller interface {
	// Name identifies the controller in a manager ("deployment",
	// "replicaset", "nodelifecycle", "endpointslice", "garbagecollector").
	// A manager runs at most one controller of a name.
	Name() string
	// Reconcile brings the object named by key to its desired state. An error
	// makes the runner retry the key with exponential backoff (it is logged,
	// never fatal); a ReconcileResult with RequeueAfter > 0 asks for the key
	// again after that long on the manager's clock (grace periods, deadlines),
	// without backoff. Success with a zero result forgets the key's backoff.
	Reconcile(ctx context.Context, key string) (ReconcileResult, error)
}

// ReconcileResult is what a successful Reconcile asks of the runner.
type ReconcileResult struct {
	// RequeueAfter > 0 reconciles the key again after this long, measured on
	// the manager's (possibly virtual) clock.
	RequeueAfter time.Duration
}

// KeyQueue is the work queue a runner gives each controller: the controller's
// event handlers put keys in, the runner's workers take them out.
type KeyQueue interface {
	// Add schedules key for reconciliation now.
	Add(key string)
	// AddAfter schedules key after d on the manager's clock.
	AddAfter(key string, d time.Duration)
}
