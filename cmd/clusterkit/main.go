package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/clusterkit/clusterkit/cri/testimage/multicall"
)

func main() {
	multicall.Run() // called as /pause, /ckimage or /clusterdns (images made from this executable): that program

	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "clusterkit",
		Short: "A test-first conformance kit for Kubernetes-style cluster components",
		Long: `clusterkit verifies cluster components (API store, API server, scheduler,
controllers, kubelet, proxy) against the documented behaviours of a
Kubernetes cluster, and ships reference implementations of each.

Start with:
  clusterkit conformance            run the suite against the in-process reference
  clusterkit conformance --help     choose components, labels, focus, JUnit output
  clusterkit etcd snapshot --help   back up and restore the cluster's state`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newConformanceCommand())
	for _, extra := range extraCommands() {
		root.AddCommand(extra())
	}
	return root
}
