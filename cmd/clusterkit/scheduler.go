package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

// schedulerOptions are the flags of `clusterkit scheduler`.
type schedulerOptions struct {
	kubeconfig    string
	schedulerName string
	scoring       string
	verbose       bool
	leaderElect   leaderElectFlags
}

// newSchedulerCommand returns `clusterkit scheduler`: the reference
// scheduler as an out-of-process component.
func newSchedulerCommand() *cobra.Command {
	o := &schedulerOptions{schedulerName: "default-scheduler", scoring: string(interfaces.LeastAllocated)}
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the reference scheduler against a cluster",
		Long: `scheduler watches the cluster of --kubeconfig for pods with no node whose
spec.schedulerName is --scheduler-name, places each on a node (resources, cordon,
nodeSelector and node affinity, taints and tolerations) and binds it through the
pods/binding subresource. Pods that fit nowhere get PodScheduled=False, reason
Unschedulable, and are retried when the cluster changes.

Example, next to 'clusterkit up':
  clusterkit scheduler --kubeconfig ~/.clusterkit/kubeconfig
  clusterkit scheduler --kubeconfig ~/.clusterkit/kubeconfig --scheduler-name bin-packer --scoring MostAllocated`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runScheduler(ctx, o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (required)")
	f.StringVar(&o.schedulerName, "scheduler-name", o.schedulerName, "place the pods whose spec.schedulerName is this")
	f.StringVar(&o.scoring, "scoring", o.scoring, "how feasible nodes are ranked: LeastAllocated (spread) or MostAllocated (bin packing)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log bind and status errors")
	o.leaderElect.add(f, "kube-scheduler")
	_ = cmd.MarkFlagRequired("kubeconfig")
	return cmd
}

func runScheduler(ctx context.Context, o *schedulerOptions, log interface{ Write([]byte) (int, error) }) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("reading kubeconfig %s: %w", o.kubeconfig, err)
	}
	profile := scheduler.DefaultProfile(interfaces.SchedulerScoring(o.scoring))
	opts := scheduler.Options{SchedulerName: o.schedulerName, Profile: &profile}
	opts.Logf = func(format string, args ...any) {
		if o.verbose {
			fmt.Fprintf(log, format+"\n", args...)
		}
	}
	s, err := scheduler.New(cfg, opts)
	if err != nil {
		return err
	}
	return o.leaderElect.run(ctx, cfg, log, func(ctx context.Context) error {
		fmt.Fprintf(log, "scheduler %q (%s) running against %s\n", o.schedulerName, o.scoring, cfg.Host)
		return s.Run(ctx)
	})
}
