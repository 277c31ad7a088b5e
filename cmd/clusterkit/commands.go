package main

import "github.com/spf13/cobra"

// extraCommands lists the subcommands defined in their own files.
func extraCommands() []func() *cobra.Command {
	return []func() *cobra.Command{newUpCommand, newEtcdCommand, newImagesCommand, newKubeletCommand, newControllerManagerCommand, newSchedulerCommand, newProxyCommand, newLabCommand, newVersionCommand, newBenchCommand}
}
