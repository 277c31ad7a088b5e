package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/clusterkit/clusterkit/kindlab"
	"github.com/clusterkit/clusterkit/kindlab/loadbalancer"
)

// newLabCommand returns `clusterkit lab`: multi-node labs for CI (package kindlab).
func newLabCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Create, list and delete multi-node labs (each node a container of its own) for CI",
		Long: `A lab is a cluster whose nodes are containers of their own, in the spirit of kind: every
node is a container run by runc (its own root file system, hostname, PIDs and a cgroup limited to
its capacity) holding the node agent, which runs a private containerd with real containers and
the kubelet. As on a kubeadm cluster, the node NAME-control-plane
(tainted node-role.kubernetes.io/control-plane:NoSchedule) runs etcd, the API server, the
scheduler and the controller manager as static pods, kube-proxy runs as a DaemonSet on every
node and cluster DNS (coredns) as a Deployment, all in kube-system. --nodes counts the workers.
The lab runs in the background until deleted and is used through its kubeconfig:

  clusterkit lab create --name ci --nodes 3
  export KUBECONFIG=$(clusterkit lab kubeconfig --name ci)
  kubectl get nodes
  clusterkit conformance --kubeconfig "$KUBECONFIG" --components api,proxy
  clusterkit lab delete --name ci

Nodes reach each other's pods over a bridge of the lab (cklabN, 10.250.N.0/24); no namespace of
a lab has a default route, so nothing it does leaves the machine. Needs root, containerd, runc
and the CNI plugins (scripts/install-containerd.sh). The pods' images (pause, test, cluster DNS)
are built from the source tree when run inside it, else made from the clusterkit executable
itself, which runs them when called as /pause, /ckimage or /clusterdns.`,
	}
	cmd.AddCommand(newLabCreateCommand(), newLabDeleteCommand(), newLabListCommand(), newLabKubeconfigCommand(), newLabLoadCommand(), newLabExportCommand(), newLabGetCommand(), newLabNodeAgentCommand(), newLabNodeCommand(), newLabStopCommand(), newLabStartCommand(), newLabLoadBalancerCommand())
	return cmd
}

type labOptions struct {
	name        string
	nodes       int
	dir         string
	serviceCIDR string
	images      string
	config      string
	retain      bool
	nodeRuntime string
	// controlPlanes: --control-planes; wait: --wait.
	controlPlanes int
	wait          time.Duration
	nodeShape     nodeShape
	// imagesFromBinary: --images-from-binary.
	imagesFromBinary bool
	// imagesFromSource: --images-from-source.
	imagesFromSource bool
}

// fromFile reads --config; --name and --service-cidr given on the command line win over the
// file's, --nodes must agree with it.
func (o *labOptions) fromFile(flags *pflag.FlagSet) (kindlab.Config, error) {
	b, err := os.ReadFile(o.config)
	if err != nil {
		return kindlab.Config{}, fmt.Errorf("--config: %w", err)
	}
	cfg, err := kindlab.ParseFile(b)
	if err != nil {
		return kindlab.Config{}, fmt.Errorf("--config %s: %w", o.config, err)
	}
	if flags.Changed("name") || cfg.Name == "" {
		cfg.Name = o.name
	}
	o.name = cfg.Name // the lab's directory follows its name
	if flags.Changed("service-cidr") || cfg.ServiceCIDR == "" {
		cfg.ServiceCIDR = o.serviceCIDR
	}
	if flags.Changed("nodes") && o.nodes != cfg.Nodes {
		return kindlab.Config{}, fmt.Errorf("--nodes %d, but --config %s has %d workers: give one or the other", o.nodes, o.config, cfg.Nodes)
	}
	return cfg, nil
}

// addLabFlags registers --name and --dir, which choose the lab a command acts on.
func (o *labOptions) addLabFlags(f *pflag.FlagSet) {
	f.StringVar(&o.name, "name", o.name, "name of the lab")
	f.StringVar(&o.dir, "dir", "", "directory of the lab (default ~/.clusterkit/labs/NAME)")
}

// load reads the chosen lab's record; a missing lab's error says how to find the labs.
func (o *labOptions) load() (*kindlab.Lab, error) {
	lab, err := kindlab.Load(o.labDir())
	if err != nil {
		return nil, fmt.Errorf("lab %q: %w (clusterkit lab list shows the labs)", o.name, err)
	}
	return lab, nil
}

// withLab runs do on the chosen lab with a context ended by Ctrl-C, SIGTERM or timeout, and
// a progress printer of timed lines on the command's error stream.
func (o *labOptions) withLab(cmd *cobra.Command, timeout time.Duration, do func(context.Context, *kindlab.Lab, func(string, ...any)) error) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lab, err := o.load()
	if err != nil {
		return err
	}
	out, start := cmd.ErrOrStderr(), time.Now()
	return do(ctx, lab, func(format string, args ...any) {
		fmt.Fprintf(out, "[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	})
}

func (o *labOptions) labDir() string {
	if o.dir != "" {
		return o.dir
	}
	return filepath.Join(kindlab.Root(), o.name)
}

func newLabCreateCommand() *cobra.Command {
	o := &labOptions{name: "lab", nodes: kindlab.DefaultNodes}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a lab and wait until every node is Ready",
		Example: `  clusterkit lab create --name ci --nodes 3
  clusterkit lab create --config lab.yaml     # nodes by role: count, labels, taints, cpu, memory, pods
  clusterkit lab create --name ci --images ./images.tar   # outside the source tree`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.ErrOrStderr()
			capacity, err := o.nodeShape.capacity(kindlab.DefaultNodeCapacity())
			if err != nil {
				return err
			}
			cfg := kindlab.Config{Name: o.name, Nodes: o.nodes, ServiceCIDR: o.serviceCIDR}
			if o.config != "" {
				if cfg, err = o.fromFile(cmd.Flags()); err != nil {
					return err
				}
			}
			if o.imagesFromSource && o.images != "" {
				return fmt.Errorf("--images and --images-from-source: give one or the other")
			}
			cfg.Dir, cfg.ImageArchive, cfg.NodeCapacity, cfg.Retain = o.labDir(), o.images, capacity, o.retain
			cfg.ImagesFromBinary, cfg.ImagesFromSource, cfg.NodeRuntime = o.imagesFromBinary, o.imagesFromSource, o.nodeRuntime
			if cmd.Flags().Changed("control-planes") || cfg.ControlPlanes == 0 {
				cfg.ControlPlanes = o.controlPlanes
			}
			cfg.Timeout = o.wait
			cfg.Progress = func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
			lab, err := kindlab.Create(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "to use it:\n  export KUBECONFIG=%s\nto delete it:\n  %s\n", lab.Kubeconfig, kindlab.DeleteCommand(lab.Name, lab.Dir))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", o.name, "name of the lab (a DNS label); nodes are NAME-node-1…")
	f.IntVar(&o.nodes, "nodes", o.nodes, "number of nodes (1 to 50)")
	f.DurationVar(&o.wait, "wait", 5*time.Minute, "how long to wait for every node to be Ready and the add-ons installed (kind's --wait); the lab is removed when it is not by then (see --retain)")
	f.IntVar(&o.controlPlanes, "control-planes", 1, "number of control-plane nodes (1 to 5); 3 make an HA control plane — a stacked etcd member, an API server, a leader-elected scheduler and controller manager on each, the API address on a load balancer — that survives the loss of one")
	o.nodeShape.addCapacityFlags(f)
	f.StringVar(&o.dir, "dir", "", "directory of the lab's state, logs and data (default ~/.clusterkit/labs/NAME)")
	f.StringVar(&o.serviceCIDR, "service-cidr", kindlab.DefaultServiceCIDR, "IPv4 range of Service ClusterIPs")
	f.BoolVar(&o.imagesFromBinary, "images-from-binary", true, "make the pause, test and cluster DNS images from this clusterkit executable (it runs them when called as /pause, /ckimage, /clusterdns; they share the control plane image's layer); the default")
	f.BoolVar(&o.imagesFromSource, "images-from-source", false, "build the pause, test and cluster DNS images from the source tree instead (images of their own, ≈ 4 s more)")
	f.StringVar(&o.nodeRuntime, "node-runtime", kindlab.NodeContainers, "how nodes are made: "+kindlab.NodeContainers+" (each node a container run by runc: its own root file system, hostname, PIDs and a cgroup limited to its capacity) or "+kindlab.NodeNamespaces+" (each node a network namespace sharing the machine's files and PIDs)")
	f.BoolVar(&o.retain, "retain", false, "when creation fails, keep the lab as it is (processes running) to look at it, instead of removing it; lab delete removes it")
	f.StringVar(&o.config, "config", "", "lab configuration file (apiVersion clusterkit.io/v1alpha1, kind Lab): nodes by role with count, labels, taints, cpu, memory, pods; see docs/kindlab.md")
	f.StringVar(&o.images, "images", "", "OCI archive of the images every node imports (default: build clusterkit's test images from the source tree; `clusterkit images build` writes one)")
	return cmd
}

func newLabDeleteCommand() *cobra.Command {
	o := &labOptions{name: "lab"}
	var all bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Stop a lab's processes and remove its namespaces, bridge and directory",
		Example: `  clusterkit lab delete --name ci
  clusterkit lab delete --all     # every lab under ~/.clusterkit/labs, and the logs of failed creates`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all {
				if cmd.Flags().Changed("name") || o.dir != "" {
					return fmt.Errorf("--all deletes every lab under %s: give it without --name or --dir", kindlab.Root())
				}
				return deleteAllLabs(cmd.ErrOrStderr())
			}
			lab, err := kindlab.Load(o.labDir())
			if apierrors.IsNotFound(err) && kindlab.IsLeftover(o.labDir()) {
				// A failed create kept its logs here: delete removes them.
				if err := kindlab.RemoveLeftover(o.labDir()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "removed %s, the logs of a failed create\n", o.labDir())
				return nil
			}
			if err != nil {
				return fmt.Errorf("lab %q: %w (clusterkit lab list shows the labs)", o.name, err)
			}
			if err := lab.Delete(context.Background(), cmd.ErrOrStderr()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "lab %s deleted\n", lab.Name)
			return nil
		},
	}
	o.addLabFlags(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "delete every lab under ~/.clusterkit/labs (as kind delete clusters --all), and the logs of failed creates")
	return cmd
}

// deleteAllLabs deletes every lab under the labs root and removes failed creates' leftovers,
// going on past a lab that fails to delete (and reporting it at the end).
func deleteAllLabs(log io.Writer) error {
	root := kindlab.Root()
	labs, err := kindlab.List(root)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range labs {
		if err := l.Delete(context.Background(), log); err != nil {
			errs = append(errs, fmt.Errorf("lab %s: %w", l.Name, err))
			continue
		}
		fmt.Fprintf(log, "lab %s deleted\n", l.Name)
	}
	leftovers, err := kindlab.Leftovers(root)
	if err != nil {
		errs = append(errs, err)
	}
	for _, dir := range leftovers {
		if err := kindlab.RemoveLeftover(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(log, "removed %s, the logs of a failed create\n", dir)
	}
	if len(labs)+len(leftovers) == 0 {
		fmt.Fprintf(log, "no labs under %s\n", root)
	}
	return errors.Join(errs...)
}

func newLabListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the labs under ~/.clusterkit/labs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			labs, err := kindlab.List(kindlab.Root())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tNODES\tSTATUS\tSERVER\tKUBECONFIG")
			for _, l := range labs {
				status := "Running"
				if l.Stopped {
					status = "Stopped (" + kindlab.StartCommand(l.Name, l.Dir) + " starts it)"
				} else if !l.Running() {
					status = "Broken (delete it)"
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", l.Name, len(l.Nodes), status, l.Server, l.Kubeconfig)
			}
			leftovers, err := kindlab.Leftovers(kindlab.Root())
			if err != nil {
				return err
			}
			for _, dir := range leftovers {
				name := filepath.Base(dir)
				fmt.Fprintf(w, "%s\t-\tFailed (logs in %s; %s removes them)\t-\t-\n", name, filepath.Join(dir, "logs"), kindlab.DeleteCommand(name, dir))
			}
			return w.Flush()
		},
	}
}

func newLabKubeconfigCommand() *cobra.Command {
	o := &labOptions{name: "lab"}
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the path of a lab's kubeconfig",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lab, err := o.load()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), lab.Kubeconfig)
			return nil
		},
	}
	o.addLabFlags(cmd.Flags())
	return cmd
}

// newLabLoadCommand is `clusterkit lab load`: kind's `load image-archive`.
func newLabLoadCommand() *cobra.Command {
	o := &labOptions{name: "lab"}
	cmd := &cobra.Command{
		Use:   "load ARCHIVE|REF",
		Short: "Import images from an archive (OCI layout or docker save tar) into every node of a running lab",
		Long: `Import images from an archive into the containerd of every node of a running lab, as
kind's "kind load image-archive" does: pods of the lab then run them without a registry (use
imagePullPolicy: IfNotPresent or Never, or a tag other than :latest).

An archive comes from "docker save", "podman save", "crane pull --format oci", go-containerregistry,
or "clusterkit images build". An argument that is not a file is an image reference, pulled from
the registry that serves it (one this machine reaches; plain HTTP for a registry on loopback) for
this machine's platform, as kind's "kind load docker-image" takes a name.`,
		Example: `  docker save -o app.tar example.com/app:v1
  clusterkit lab load --name ci app.tar
  clusterkit lab load --name ci 127.0.0.1:5000/team/app:v1   # pulled from a registry this machine reaches`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := o.load()
			if err != nil {
				return err
			}
			archive, err := os.ReadFile(args[0])
			if errors.Is(err, os.ErrNotExist) {
				// Not a file: an image reference, pulled from the registry serving it.
				fmt.Fprintf(cmd.ErrOrStderr(), "no file %s: pulling it as an image reference\n", args[0])
				archive, err = kindlab.ImageArchiveOf(cmd.Context(), args[0])
			}
			if err != nil {
				return fmt.Errorf("the image archive: %w", err)
			}
			return lab.ImportImages(cmd.Context(), archive, func(format string, a ...any) {
				fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", a...)
			})
		},
	}
	o.addLabFlags(cmd.Flags())
	return cmd
}

// newLabGetCommand is `clusterkit lab get nodes`: kind's `get nodes`.
func newLabGetCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "get", Short: "Print a lab's nodes, one per line (for scripts)"}
	o := &labOptions{name: "lab"}
	var output string
	nodes := &cobra.Command{
		Use:   "nodes",
		Short: "Print the names of a lab's nodes, the control-plane node first (with -o wide: role, address, pod subnet, network namespace, state)",
		Example: `  for n in $(clusterkit lab get nodes --name ci); do kubectl describe node "$n"; done
  clusterkit lab get nodes --name ci -o wide`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "wide" {
				return fmt.Errorf("-o %q: the output formats are the names (default) and wide", output)
			}
			wide := output == "wide"
			lab, err := o.load()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if wide {
				fmt.Fprintln(w, "NAME\tROLE\tADDRESS\tPOD SUBNET\tNETNS\tAGENT")
			}
			var ordered []kindlab.Node
			if cp := lab.ControlPlaneNode(); cp != nil {
				ordered = append(ordered, *cp)
			}
			ordered = append(ordered, lab.Workers()...)
			for _, n := range ordered {
				if !wide {
					fmt.Fprintln(w, n.Name)
					continue
				}
				role, state := "worker", "running"
				if n.ControlPlane {
					role = "control-plane"
				}
				if !lab.NodeRunning(n) {
					state = "stopped"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, role, n.IP, n.PodSubnet, n.NetNS, state)
			}
			return w.Flush()
		},
	}
	o.addLabFlags(nodes.Flags())
	nodes.Flags().StringVarP(&output, "output", "o", "", `"wide" adds each node's role, address, pod subnet, network namespace and whether its agent runs`)
	cmd.AddCommand(nodes)
	return cmd
}

// newLabExportCommand is `clusterkit lab export`: kind's `export logs`.
func newLabExportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a lab's logs and state (for a failed CI job's artifacts)",
	}
	o := &labOptions{name: "lab"}
	logs := &cobra.Command{
		Use:   "logs [DIR]",
		Short: "Copy every node's agent, containerd and container logs and the cluster's state into DIR",
		Long: `Copy into DIR (default: a new temporary directory, printed) what it takes to understand a
lab after a failure, as kind's "kind export logs" does:

  lab.json                              the lab's record (nodes, addresses, subnets)
  NODE/agent.log                        the node agent: kubelet and agent lines
  NODE/containerd.log                   the node's containerd
  NODE/pods/NS_POD_UID/CONTAINER/N.log  every container's log, static pods (etcd, API server,
                                        scheduler, controller manager) included
  cluster/*.yaml                        nodes, pods, events, services, endpointslices,
                                        deployments, replicasets, daemonsets (kubectl get -A -o yaml)

Secrets, tokens, keys and volume contents are never copied. Whatever cannot be read (a node that
never started, an API server that is down) is listed in DIR/export-errors.txt and the rest is
still written; the lab keeps running.`,
		Example: `  clusterkit lab export logs --name ci ./lab-logs     # then upload ./lab-logs as the job's artifact`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := o.load()
			if err != nil {
				return err
			}
			var dir string
			if len(args) == 1 {
				dir = args[0]
			} else if dir, err = os.MkdirTemp("", "clusterkit-lab-"+lab.Name+"-logs-"); err != nil {
				return err
			}
			out := cmd.ErrOrStderr()
			if err := lab.ExportLogs(cmd.Context(), dir, func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), dir)
			return nil
		},
	}
	o.addLabFlags(logs.Flags())
	cmd.AddCommand(logs)
	return cmd
}

// newLabNodeAgentCommand is the node agent, started by `lab create` inside a node's container.
func newLabNodeAgentCommand() *cobra.Command {
	var dir, node, images string
	cmd := &cobra.Command{
		Use:    "node-agent",
		Short:  "Run one node of a lab (started by lab create inside the node's container)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Getpid() == 1 { // the first process of a node container: init, the agent its child
				os.Exit(kindlab.RunInit(os.Args))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errOut := cmd.ErrOrStderr()
			return kindlab.RunNode(ctx, dir, node, images, func(format string, args ...any) {
				fmt.Fprintf(errOut, "%s %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory of the lab")
	cmd.Flags().StringVar(&node, "node", "", "name of the node")
	cmd.Flags().StringVar(&images, "images", "", "OCI archive to import")
	return cmd
}

// newLabNodeCommand is `clusterkit lab node add|remove`: a running lab's workers come and go,
// as machines join (kubeadm join) and are retired (kubectl drain, then delete).
func newLabNodeCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Add a worker node to a running lab, or drain and remove one"}
	cmd.AddCommand(newLabNodeAddCommand(), newLabNodeRemoveCommand())
	return cmd
}

func newLabNodeAddCommand() *cobra.Command {
	o := &labOptions{name: "lab"}
	var labels map[string]string
	var taints []string
	var cpu, memory, pods string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a worker node (a new container on the lab's network) and wait until it is Ready",
		Long: `Add a worker node to a running lab: the next name (NAME-node-K), a free address and pod subnet,
routes to and from every other node's pods, the kubelet's identity (system:node:NAME), its
container; returns once the Node is Ready, labelled and tainted as asked, and its kube-proxy pod
is Ready. The shape flags are those of a lab configuration file's node entry; what is not given
is the lab's default capacity.`,
		Example: `  clusterkit lab node add --name ci
  clusterkit lab node add --name ci --cpu 1 --memory 2Gi --label disk=ssd --taint dedicated=db:NoSchedule`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			shape, err := kindlab.NodeShape(labels, taints, cpu, memory, pods)
			if err != nil {
				return err
			}
			return o.withLab(cmd, timeout, func(ctx context.Context, lab *kindlab.Lab, say func(string, ...any)) error {
				n, err := lab.AddNode(ctx, shape, say)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), n.Name)
				return nil
			})
		},
	}
	f := cmd.Flags()
	o.addLabFlags(f)
	f.StringToStringVar(&labels, "label", nil, "label of the new Node (KEY=VALUE, repeatable)")
	f.StringArrayVar(&taints, "taint", nil, "taint of the new Node, as kubectl taint writes it: KEY[=VALUE]:EFFECT (repeatable)")
	f.StringVar(&cpu, "cpu", "", "cpu capacity the node reports and its container's CPU limit (default: the lab's)")
	f.StringVar(&memory, "memory", "", "memory capacity the node reports and its container's memory limit, e.g. 4Gi (default: the lab's)")
	f.StringVar(&pods, "pods", "", "pod capacity of the node (default: the lab's)")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the node to be Ready")
	return cmd
}

func newLabNodeRemoveCommand() *cobra.Command {
	o := &labOptions{name: "lab"}
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "remove NODE",
		Short: "Drain a worker node (cordon, evict its pods), then remove its container, network and Node",
		Long: `Remove a worker node from a running lab as an administrator retires a machine: cordon it, evict
its pods through the Eviction API (PodDisruptionBudgets hold; DaemonSet and mirror pods stay, as
with kubectl drain --ignore-daemonsets), wait until they are gone, stop the node's container,
delete the Node object and remove its network and data. A node that does not drain within
--timeout stays, cordoned.`,
		Example: `  clusterkit lab node remove --name ci ci-node-2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withLab(cmd, timeout, func(ctx context.Context, lab *kindlab.Lab, say func(string, ...any)) error {
				return lab.RemoveNode(ctx, args[0], say)
			})
		},
	}
	o.addLabFlags(cmd.Flags())
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the node's pods to be evicted")
	return cmd
}

// newLabStopCommand is `clusterkit lab stop`: the nodes shut down, the cluster's state kept.
func newLabStopCommand() *cobra.Command {
	o := &labOptions{name: "lab"}
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop every node of a lab, keeping its state (lab start brings it back)",
		Long: `Stop every node container of a lab — workers first, the control-plane node last — as machines
are shut down: their pods stop, while etcd's data, every object, the nodes' identities and images
stay. lab start brings the lab back, also after the machine rebooted.`,
		Example: `  clusterkit lab stop --name ci
  clusterkit lab start --name ci`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lab, err := o.load()
			if err != nil {
				return err
			}
			out := cmd.ErrOrStderr()
			if err := lab.Stop(cmd.Context(), func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }); err != nil {
				return err
			}
			fmt.Fprintf(out, "lab %s stopped; to start it again:\n  %s\n", lab.Name, kindlab.StartCommand(lab.Name, lab.Dir))
			return nil
		},
	}
	o.addLabFlags(cmd.Flags())
	return cmd
}

// newLabStartCommand is `clusterkit lab start`: a stopped lab's nodes boot again.
func newLabStartCommand() *cobra.Command {
	o := &labOptions{name: "lab"}
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start a stopped lab again and wait until every node is Ready",
		Long: `Start a lab stopped with lab stop (or whose machine rebooted: the lab's bridge and network
namespaces are made again when missing): the control-plane node first, then the workers; returns
once every node is Ready. The kubelets start the nodes' pods again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withLab(cmd, timeout, func(ctx context.Context, lab *kindlab.Lab, say func(string, ...any)) error {
				if err := lab.Start(ctx, say); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "lab %s running; kubeconfig %s\n", lab.Name, lab.Kubeconfig)
				return nil
			})
		},
	}
	o.addLabFlags(cmd.Flags())
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for every node to be Ready")
	return cmd
}

// newLabLoadBalancerCommand runs the TCP load balancer in front of an HA lab's API servers
// (kind's external-load-balancer node).
func newLabLoadBalancerCommand() *cobra.Command {
	var listen string
	var backends []string
	cmd := &cobra.Command{
		Use:    "load-balancer",
		Short:  "Spread TCP connections on --listen over the --backend addresses that accept them (an HA lab's API address)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errOut := cmd.ErrOrStderr()
			b, err := loadbalancer.New(loadbalancer.Config{Backends: backends, Logf: func(format string, args ...any) {
				fmt.Fprintf(errOut, "%s %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
			}})
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("load balancer: %w", err)
			}
			fmt.Fprintf(errOut, "load balancer on %s over %v\n", l.Addr(), backends)
			return b.Serve(ctx, l)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":6443", "address to accept connections on")
	cmd.Flags().StringArrayVar(&backends, "backend", nil, "host:port of a backend (repeatable)")
	return cmd
}
