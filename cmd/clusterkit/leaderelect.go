package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/leaderelection"
)

// leaderElectFlags are a control plane component's --leader-elect* flags, with
// kube-scheduler's and kube-controller-manager's names and defaults (but off by default: a
// lone copy need not write a Lease every 2 s).
type leaderElectFlags struct {
	on        bool
	opts      leaderelection.Options
	component string
}

func (l *leaderElectFlags) add(f *pflag.FlagSet, component string) {
	l.component = component
	f.BoolVar(&l.on, "leader-elect", false, "run only while holding a Lease, so that several copies can run and one acts (an HA control plane); a copy that loses its Lease exits")
	f.DurationVar(&l.opts.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a Lease holds without renewal before another copy may take it")
	f.DurationVar(&l.opts.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader keeps retrying to renew its Lease before it gives up and exits")
	f.DurationVar(&l.opts.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "how often copies try to acquire or renew the Lease")
	f.StringVar(&l.opts.Namespace, "leader-elect-resource-namespace", "kube-system", "namespace of the Lease")
	f.StringVar(&l.opts.Name, "leader-elect-resource-name", component, "name of the Lease")
}

// run runs fn, under leader election when --leader-elect is on.
func (l *leaderElectFlags) run(ctx context.Context, cfg *rest.Config, log io.Writer, fn func(context.Context) error) error {
	if !l.on {
		return fn(ctx)
	}
	o := l.opts
	o.Logf = func(format string, args ...any) { fmt.Fprintf(log, l.component+": "+format+"\n", args...) }
	fmt.Fprintf(log, "%s: waiting for Lease %s/%s (--leader-elect)\n", l.component, o.Namespace, o.Name)
	return leaderelection.Run(ctx, cfg, o, fn)
}
