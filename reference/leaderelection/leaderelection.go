package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Options are a component's --leader-elect-* flags.
type Options struct {
	// Namespace and Name are the Lease's (kube-system, and the component's name:
	// kube-scheduler, kube-controller-manager).
	Namespace, Name string
	// Identity names this copy in the Lease's holderIdentity (default: the host name and a
	// unique suffix, as the components make it).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod default to the components' 15 s, 10 s, 2 s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logf receives a line when the Lease is acquired or lost (default: discarded).
	Logf func(format string, args ...any)
}

// ErrLost is returned by Run when this copy lost the Lease it held: the component stops (and
// is restarted by whatever runs it, as upstream's components exit).
var ErrLost = errors.New("leader election lost")

// Run waits until this copy holds the Lease, then runs run with a context that ends when the
// Lease is lost or ctx ends. It returns run's error, ErrLost when the Lease was lost while
// run still ran, or nil once ctx ended. It releases the Lease when run returns so another
// copy takes over at once.
func Run(ctx context.Context, cfg *rest.Config, o Options, run func(context.Context) error) error {
	if o.Namespace == "" || o.Name == "" {
		return errors.New("leader election: the Lease's namespace and name are required")
	}
	if o.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("leader election identity: %w", err)
		}
		o.Identity = host + "_" + string(uuid.NewUUID())
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election"))
	if err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1ObjectMeta(o.Namespace, o.Name),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var runErr error
	started, done := make(chan struct{}), make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod,
		ReleaseOnCancel: true, Name: o.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				defer close(done)
				close(started)
				o.Logf("leader election: %s holds Lease %s/%s", o.Identity, o.Namespace, o.Name)
				runErr = run(leading)
				// run is over: give the Lease up (ReleaseOnCancel) so another copy takes over.
				cancel()
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	le.Run(runCtx)
	// Renewal failed unless this process ended the election (run returned, or ctx ended).
	lost := runCtx.Err() == nil
	select {
	case <-started:
		<-done // run stops once its context ends
	default:
		return nil // never led: ctx ended while waiting
	}
	if runErr != nil {
		return runErr
	}
	if lost {
		o.Logf("leader election: %s lost Lease %s/%s", o.Identity, o.Namespace, o.Name)
		return ErrLost
	}
	return nil
}
