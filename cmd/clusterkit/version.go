package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/clusterkit/clusterkit/version"
)

// components are the programs clusterkit runs; they are all this binary, so they all report
// its version.
var components = []string{"apiserver", "controller-manager", "kubelet", "proxy", "scheduler"}

// versionReport is what `clusterkit version -o json|yaml` prints.
type versionReport struct {
	ClientVersion apiversion.Info `json:"clientVersion"`
	// Components maps each component to the version it reports.
	Components map[string]string `json:"componentVersions"`
	// ServerVersion is the /version of the cluster of --kubeconfig.
	ServerVersion *apiversion.Info `json:"serverVersion,omitempty"`
	// Kubelets maps each Node to its status.nodeInfo.kubeletVersion.
	Kubelets map[string]string `json:"kubeletVersions,omitempty"`
	// Warnings name versions outside the skew Kubernetes supports.
	Warnings []string `json:"warnings,omitempty"`
}

type versionOptions struct {
	output     string
	kubeconfig string
}

// newVersionCommand returns `clusterkit version`.
func newVersionCommand() *cobra.Command {
	o := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of clusterkit and its components (and of a cluster's API server and kubelets)",
		Long: `version prints the Kubernetes version clusterkit reports everywhere — the API server's
/version, each kubelet's nodeInfo.kubeletVersion, the proxy — which is the release of the
k8s.io libraries it is built with, with the build's commit, tree state and date.

With --kubeconfig it also reads the cluster's /version and its Nodes' kubelet versions, and warns
about versions outside the skew Kubernetes supports (a kubelet newer than the API server or more
than three minors older). Use a kubectl within one minor of the server's version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			return runVersion(ctx, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output format: json or yaml (default: text)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "also report the versions of this cluster's API server and kubelets")
	return cmd
}

func runVersion(ctx context.Context, o *versionOptions, out io.Writer) error {
	if o.output != "" && o.output != "json" && o.output != "yaml" {
		return fmt.Errorf("--output %q: want json or yaml", o.output)
	}
	rep := versionReport{ClientVersion: version.Get(), Components: map[string]string{}}
	for _, c := range components {
		rep.Components[c] = rep.ClientVersion.GitVersion
	}
	if o.kubeconfig != "" {
		if err := rep.readCluster(ctx, o.kubeconfig); err != nil {
			return err
		}
	}
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	c := rep.ClientVersion
	fmt.Fprintf(out, "Client Version: %s (commit %s, tree %s, built %s, %s %s/%s)\n", c.GitVersion, c.GitCommit,
		orUnknown(c.GitTreeState), c.BuildDate, c.GoVersion, c.Compiler, c.Platform)
	fmt.Fprintf(out, "Component Versions: %s\n", c.GitVersion)
	for _, name := range components {
		fmt.Fprintf(out, "  %s: %s\n", name, rep.Components[name])
	}
	if rep.ServerVersion != nil {
		fmt.Fprintf(out, "Server Version: %s\n", rep.ServerVersion.GitVersion)
	}
	if len(rep.Kubelets) > 0 {
		fmt.Fprintln(out, "Kubelet Versions:")
		for _, n := range sortedKeys(rep.Kubelets) {
			fmt.Fprintf(out, "  %s: %s\n", n, rep.Kubelets[n])
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(out, "WARNING: %s\n", w)
	}
	return nil
}

// readCluster adds the server's and the kubelets' versions, and skew warnings.
func (rep *versionReport) readCluster(ctx context.Context, kubeconfig string) error {
	cfg, err := loadRESTConfig(kubeconfig)
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	sv, err := client.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("reading the server's /version: %w", err)
	}
	rep.ServerVersion = sv
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	rep.Kubelets = map[string]string{}
	for _, n := range nodes.Items {
		rep.Kubelets[n.Name] = n.Status.NodeInfo.KubeletVersion
	}
	rep.Warnings = skewWarnings(rep.ClientVersion.GitVersion, sv.GitVersion, rep.Kubelets)
	return nil
}

// skewWarnings names what is outside Kubernetes' version skew policy: a client more than one
// minor from the server, a kubelet newer than the server or more than three minors older.
func skewWarnings(client, server string, kubelets map[string]string) []string {
	var warnings []string
	sMajor, sMinor, ok := version.MajorMinor(server)
	if !ok {
		return []string{fmt.Sprintf("the server's version %q does not parse", server)}
	}
	if cMajor, cMinor, ok := version.MajorMinor(client); ok && (cMajor != sMajor || cMinor-sMinor > 1 || sMinor-cMinor > 1) {
		warnings = append(warnings, fmt.Sprintf("clusterkit %s is more than one minor from the server's %s", client, server))
	}
	for _, n := range sortedKeys(kubelets) {
		kMajor, kMinor, ok := version.MajorMinor(kubelets[n])
		switch {
		case !ok:
			warnings = append(warnings, fmt.Sprintf("node %s: kubelet version %q does not parse", n, kubelets[n]))
		case kMajor != sMajor || kMinor > sMinor:
			warnings = append(warnings, fmt.Sprintf("node %s: kubelet %s is newer than the server's %s", n, kubelets[n], server))
		case sMinor-kMinor > 3:
			warnings = append(warnings, fmt.Sprintf("node %s: kubelet %s is more than three minors older than the server's %s", n, kubelets[n], server))
		}
	}
	return warnings
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orUnknown(s string) string {
	if s == "" {
		return version.Unknown
	}
	return s
}
