package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/clusterkit/clusterkit/conformance/upstream"
)

// newKubectlPathCommand is `clusterkit conformance kubectl`: the kubectl of clusterkit's
// Kubernetes version, built once.
func newKubectlPathCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "kubectl",
		Short: "Print the path of a kubectl of clusterkit's Kubernetes version, building it once if needed",
		Long: `kubectl prints the path of the kubectl the project's tests run — the kubectl of the
Kubernetes version clusterkit is built against, so that client and server stay within one minor
version of each other as Kubernetes' skew policy asks. It is $` + upstream.KubectlEnv + ` when set,
else the one cached in ~/.cache/clusterkit/upstream, built from the peers/e2e module the first
time (a few minutes on 2 cores; progress on stderr).`,
		Example: `  alias kubectl="$(clusterkit conformance kubectl)"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := upstream.EnsureKubectl(cmd.Context(), upstream.BuildOptions{Progress: func(format string, args ...any) {
				fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...)
			}})
			if err != nil {
				return fmt.Errorf("building kubectl: %w (set %s to use another kubectl)", err, upstream.KubectlEnv)
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
}
