// Command schedulerbinary is the third example of docs/scheduler.md: a
// scheduler as its own binary, run next to the cluster and selected by
// spec.schedulerName. It runs the reference scheduler with bin packing
// (MostAllocated); swap in your own component here. go test builds it and
// runs it, out of process, through the scheduler conformance suite.
//
//	schedulerbinary --kubeconfig ~/.clusterkit/kubeconfig --scheduler-name bin-packer
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	name := flag.String("scheduler-name", "bin-packer", "place the pods whose spec.schedulerName is this")
	flag.Parse()
	if err := run(*kubeconfig, *name); err != nil {
		fmt.Fprintln(os.Stderr, "schedulerbinary:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, name string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	profile := scheduler.DefaultProfile(interfaces.MostAllocated)
	s, err := scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &profile})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
