package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/clusterkit/clusterkit/conformance/upstream"
	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/kindlab"
	"github.com/clusterkit/clusterkit/reference/kubeconfigext"
)

// upstreamOptions are the flags of `clusterkit conformance upstream`.
type upstreamOptions struct {
	kubeconfig string
	areas      []string
	focus      []string
	skip       []string
	resultsDir string
	parallel   int
	shardSize  int
	timeout    time.Duration
	list       bool
	e2eArgs    []string

	build upstream.BuildOptions

	loadImages string
	lab        string
	containerd []string
}

// errSpecsFailed makes the command exit non-zero when specs failed, after
// it printed why.
var errSpecsFailed = errors.New("some upstream conformance specs failed")

func newUpstreamCommand() *cobra.Command {
	o := upstreamOptions{parallel: 6, timeout: time.Hour, loadImages: "auto"}
	cmd := &cobra.Command{
		Use:   "upstream",
		Short: "Run the upstream Kubernetes conformance suite (e2e.test) against a cluster",
		Long: `Run the upstream Kubernetes conformance suite — the e2e.test binary that
sonobuoy and hydrophone run — against the cluster of --kubeconfig: a clusterkit
lab, "clusterkit up", or any Kubernetes cluster.

It builds e2e.test, kubectl and agnhost of the Kubernetes version clusterkit is
built against from the peers/e2e module (once: ≈ 7 minutes on 2 cores; cached
in ~/.cache/clusterkit/upstream), or uses --e2e-binary/--kubectl/--agnhost. It
composes the images the specs run (agnhost, busybox, nginx, pause, under their
registry.k8s.io names; needs scripts/install-upstream-deps.sh) and loads them
into the nodes' containerd — every node of the clusterkit lab the kubeconfig
belongs to, the node runtimes "clusterkit up --runtime containerd" records in its
kubeconfig, and the sockets of --containerd-address — so no registry is needed.

It runs the [Conformance] specs of the chosen areas (--area; default the seed's
areas: ` + strings.Join(upstream.AreaNames(), ", ") + `; "all" for every
conformance spec, or a SIG name such as storage), narrowed by --focus and
--skip (regular expressions on the spec text, as Ginkgo's). Specs run in shards
of exact names, --parallel processes at once; [Serial] specs run alone after.

Results go to --results-dir: junit_01.xml (every spec), e2e.log (every
process's output), summary.txt (the per-area table and the failures grouped
by cause), results.json, and shards/ with each process's own log. The table
and the causes are printed at the end. The exit status is 1 when a spec
failed.`,
		Example: `  # a lab, then the seed's areas of the upstream suite against it
  sudo clusterkit lab create --name ci --nodes 2
  sudo clusterkit conformance upstream --kubeconfig "$(clusterkit lab kubeconfig --name ci)"

  # what a selection holds, without running it
  clusterkit conformance upstream --kubeconfig K --area node --list

  # a few specs, with a results directory of your choice
  clusterkit conformance upstream --kubeconfig K --focus 'Pods should get a host IP' --results-dir /tmp/r

  # a real cluster whose nodes pull images themselves
  clusterkit conformance upstream --kubeconfig ~/.kube/config --load-images none --area all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := runUpstream(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if errors.Is(err, errSpecsFailed) {
				cmd.SilenceUsage = true
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster under test (default $KUBECONFIG)")
	f.StringSliceVar(&o.areas, "area", []string{"seed"}, "areas to run: "+strings.Join(upstream.AreaNames(), ", ")+", seed (all of them), all (every conformance spec), or a SIG name (storage, auth, cli, …)")
	f.StringArrayVar(&o.focus, "focus", nil, "run only specs whose text matches this regular expression (repeatable: any of them)")
	f.StringArrayVar(&o.skip, "skip", nil, "skip specs whose text matches this regular expression (repeatable)")
	f.StringVar(&o.resultsDir, "results-dir", "", "directory for the results (default ./upstream-results/<time>)")
	f.IntVar(&o.parallel, "parallel", o.parallel, "e2e.test processes running non-serial specs at once")
	f.IntVar(&o.shardSize, "shard-size", 0, "most specs per e2e.test process (default: by the number of specs, at most 4)")
	f.DurationVar(&o.timeout, "timeout", o.timeout, "limit of each e2e.test process")
	f.BoolVar(&o.list, "list", false, "print the selected specs and exit (builds e2e.test if needed, contacts no cluster)")
	f.StringArrayVar(&o.e2eArgs, "e2e-arg", nil, "extra flag for e2e.test, e.g. --e2e-arg=--kube-test-repo-list=FILE (repeatable)")
	f.StringVar(&o.build.E2E, "e2e-binary", "", "use this e2e.test instead of building it")
	f.StringVar(&o.build.Kubectl, "kubectl", "", "use this kubectl instead of building it")
	f.StringVar(&o.build.Agnhost, "agnhost", "", "use this agnhost binary for the images instead of building it")
	f.StringVar(&o.build.CacheDir, "cache-dir", upstream.DefaultCacheDir(), "where built binaries are kept")
	f.StringVar(&o.loadImages, "load-images", o.loadImages, `"auto" loads the e2e images into the lab the kubeconfig belongs to and into --containerd-address; "none" leaves pulling to the nodes`)
	f.StringVar(&o.lab, "lab", "", "name of the clusterkit lab to load the images into (default: the lab whose kubeconfig is --kubeconfig)")
	f.StringArrayVar(&o.containerd, "containerd-address", nil, "containerd socket of a node to load the images into, besides those a lab or `clusterkit up` records (repeatable)")
	return cmd
}

func runUpstream(ctx context.Context, o upstreamOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	if o.kubeconfig == "" && !o.list {
		return errors.New("--kubeconfig is required (or set KUBECONFIG): the cluster to test, e.g. $(clusterkit lab kubeconfig --name ci)")
	}
	areas, err := upstream.ResolveAreas(o.areas)
	if err != nil {
		return err
	}
	o.build.Progress = say
	if o.build.E2E == "" || o.build.Kubectl == "" || o.build.Agnhost == "" {
		src, err := upstream.FindSourceDir("")
		if err != nil {
			return err
		}
		o.build.SourceDir = src
	}
	bins, err := upstream.EnsureBinaries(ctx, o.build)
	if err != nil {
		return err
	}
	resultsDir := o.resultsDir
	if resultsDir == "" {
		resultsDir = filepath.Join("upstream-results", time.Now().Format("20060102-150405"))
	}
	if resultsDir, err = filepath.Abs(resultsDir); err != nil {
		return err
	}
	texts, serial, err := upstream.ListSpecs(ctx, bins.E2E, resultsDir)
	if err != nil {
		return err
	}
	specs, err := upstream.Select(texts, serial, areas, o.focus, o.skip)
	if err != nil {
		return err
	}
	if o.list {
		for _, s := range specs {
			fmt.Fprintf(stdout, "%-14s %s\n", s.Area, s.Text)
		}
		fmt.Fprintf(stdout, "%d of %d conformance specs selected\n", len(specs), len(texts))
		return nil
	}
	if len(specs) == 0 {
		return fmt.Errorf("no conformance spec matches --area %s --focus %q --skip %q (try --list)", strings.Join(o.areas, ","), o.focus, o.skip)
	}
	say("%d of %d conformance specs selected", len(specs), len(texts))
	if o.kubeconfig, err = filepath.Abs(o.kubeconfig); err != nil {
		return err
	}
	if err := loadUpstreamImages(ctx, o, bins, say); err != nil {
		return err
	}
	res, err := upstream.Run(ctx, specs, upstream.RunOptions{
		Binaries: bins, Kubeconfig: o.kubeconfig, ResultsDir: resultsDir,
		Parallel: o.parallel, ShardSize: o.shardSize, Timeout: o.timeout, Args: o.e2eArgs, Progress: say,
	})
	if res == nil {
		return err
	}
	var summary bytes.Buffer
	upstream.WriteSummary(&summary, res, areas)
	if werr := os.WriteFile(filepath.Join(resultsDir, "summary.txt"), summary.Bytes(), 0o644); werr != nil && err == nil {
		err = werr
	}
	suite := "Kubernetes " + bins.Version + " e2e.test"
	if bins.Version == "" {
		suite = bins.E2E
	}
	fmt.Fprintf(stdout, "\nupstream conformance (%s) against %s, %s:\n\n", suite, o.kubeconfig, res.Elapsed.Round(time.Second))
	upstream.WriteTable(stdout, res.Table(areas))
	if causes := res.Causes(); len(causes) > 0 {
		fmt.Fprintf(stdout, "\nfailures by cause (every spec in %s):\n", filepath.Join(resultsDir, "summary.txt"))
		upstream.WriteCauses(stdout, causes, 3)
	}
	fmt.Fprintf(stdout, "\nresults: %s (junit_01.xml, e2e.log, summary.txt, results.json, shards/)\n", resultsDir)
	if err != nil {
		return err
	}
	for _, s := range res.Specs {
		if s.Failed() {
			return errSpecsFailed
		}
	}
	return nil
}

// loadUpstreamImages composes the e2e images and imports them where the
// flags and the kubeconfig say.
func loadUpstreamImages(ctx context.Context, o upstreamOptions, bins *upstream.Binaries, say func(string, ...any)) error {
	if o.loadImages == "none" {
		say("not loading the e2e images (--load-images none): the nodes pull them from registry.k8s.io")
		return nil
	}
	if o.loadImages != "auto" {
		return fmt.Errorf("--load-images %q: use auto or none", o.loadImages)
	}
	var lab *kindlab.Lab
	var err error
	if o.lab != "" {
		if lab, err = kindlab.Load(filepath.Join(kindlab.Root(), o.lab)); err != nil {
			return fmt.Errorf("lab %s: %w (clusterkit lab list shows the labs)", o.lab, err)
		}
	} else if lab, err = kindlab.FindByKubeconfig(kindlab.Root(), o.kubeconfig); err != nil {
		return err
	}
	// Not a lab's: the kubeconfig of `clusterkit up --runtime containerd` records its nodes' containerd.
	var addrs []string
	if lab == nil {
		if addrs, err = kubeconfigext.ContainerdAddresses(o.kubeconfig); err != nil {
			return err
		}
		if len(addrs) > 0 {
			say("the kubeconfig records the nodes' containerd at %s", strings.Join(addrs, ", "))
		}
	}
	for _, addr := range o.containerd {
		if !slices.Contains(addrs, filepath.Clean(addr)) {
			addrs = append(addrs, addr)
		}
	}
	if lab == nil && len(addrs) == 0 {
		say("the kubeconfig is not a clusterkit lab's, records no containerd, and no --containerd-address is given: not loading the e2e images; the nodes must pull them (or pass --lab / --containerd-address)")
		return nil
	}
	say("composing the e2e images (agnhost, busybox, nginx, pause, sample-apiserver, etcd)")
	imgs, err := upstream.BuildImages(ctx, upstream.ImageOptions{Agnhost: bins.Agnhost, SourceDir: o.build.SourceDir, SampleAPIServer: bins.SampleAPIServer, Etcd: bins.Etcd})
	if err != nil {
		return err
	}
	archive, err := upstream.ImageArchive(imgs)
	if err != nil {
		return err
	}
	if lab != nil {
		say("loading %d images (%d MB) into the %d nodes of lab %s", len(imgs), len(archive)>>20, len(lab.Nodes), lab.Name)
		if err := lab.ImportImages(ctx, archive, say); err != nil {
			return err
		}
	}
	for _, addr := range addrs {
		names, err := containerd.ImportTo(ctx, addr, bytes.NewReader(archive))
		if err != nil {
			return fmt.Errorf("loading the images into %s: %w", addr, err)
		}
		say("loaded %d images into %s", len(names), addr)
	}
	return nil
}
