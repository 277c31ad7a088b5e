package main

import (
	"github.com/spf13/cobra"

	"github.com/clusterkit/clusterkit/conformance"
)

// extraCommands lists the subcommands defined in their own files.
func extraCommands() []func() *cobra.Command {
	return []func() *cobra.Command{newUpCommand, newEtcdCommand}
}

// extraStoreHarnesses lists the store harnesses defined in their own files.
func extraStoreHarnesses() map[string]conformance.StoreHarness {
	return map[string]conformance.StoreHarness{"etcd": etcdStoreHarness()}
}
