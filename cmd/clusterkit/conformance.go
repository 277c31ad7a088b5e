package main

import (
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2"
	ginkgotypes "github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/klog/v2"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/conformance/report"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
	"github.com/clusterkit/clusterkit/version"
)

// conformanceOptions are the flags of clusterkit conformance.
type conformanceOptions struct {
	components []string
	stores     []string
	apiStore   string
	// kubeletRuntime is "sim" or "containerd".
	kubeletRuntime string
	kubeconfig     string
	// proxyNode and proxyNodeIP pick the node of the proxy specs on a live cluster.
	proxyNode   string
	proxyNodeIP string
	// dnsDomain is the cluster domain of the DNS specs on a live cluster.
	dnsDomain   string
	labelFilter string
	focus       []string
	skip        []string
	junit       string
	// report is the directory of the report files (conformance/report), "" for none.
	report  string
	verbose bool
	noColor bool
}

func newConformanceCommand() *cobra.Command {
	o := conformanceOptions{}
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Run the conformance suite against the in-process reference implementation",
		Long: `Run clusterkit's conformance suite: every documented behaviour of a
component, stated as a MUST sentence with a behaviour ID, checked against an
implementation.

Without flags it runs every component's specs against the reference
implementations, in this process, with embedded defaults: nothing to install.
With --kubeconfig it runs the API specs against that live cluster instead
(a real Kubernetes API server, or "clusterkit up"), in namespaces of their own
("--components auth" checks its authentication and authorization, with the
kubeconfig's user as a cluster administrator);
add "--components api,proxy" to also check the cluster's service proxy with
pods on one of its nodes (--proxy-node, --proxy-node-ip), and "--components dns"
to check its cluster DNS from a pod of the test image (docs/dns.md).
It prints Ginkgo's progress, then one line per spec (with the reason of
every skip and failure), and writes a JUnit report. With --report DIR it
writes the run's report files into DIR instead: junit.xml, e2e.log (a plain
log, a line a spec, failures and skip reasons under it, a summary),
results.json (the run as JSON, schema clusterkit.io/conformance-results/v1)
and report.html (one self-contained page: every spec per component with its
outcome, MUST sentence, failure and time, filter and search); see
docs/testing.md.

Colours only on a terminal: the output has none when standard output is not
a terminal, when NO_COLOR is set, or with --no-color.

The scheduler specs run the reference scheduler against a fresh API server
per spec; to test your own scheduler see docs/scheduler.md.

Select specs the Ginkgo way: --label-filter on component labels (store, api,
auth, scheduler, controllers, kubelet, proxy, dns) and on Slow, Disruptive,
NeedsRealRuntime, NeedsRoot; --focus and --skip on spec text (which includes
the behaviour ID). The behaviour catalogue is docs/behaviors.md, or:
  clusterkit conformance catalogue
To see the suite reject the known-bad implementations (reference/knownbad),
each with its own bug, and print the kill matrix:
  clusterkit conformance selftest
To apply small bugs to the reference code one at a time and report which the
tests catch (mutation testing, docs/testing.md):
  clusterkit conformance mutate --help`,
		Example: `  # everything, JUnit report in ./clusterkit-junit.xml
  clusterkit conformance

  # the scheduler specs, with the report files (open report/report.html in a browser)
  clusterkit conformance --components scheduler --report report

  # only the store specs, only against embedded etcd
  clusterkit conformance --components store --stores etcd

  # the watch behaviours, verbosely
  clusterkit conformance --focus store.watch -v

  # the API specs against a running cluster
  clusterkit conformance --kubeconfig ~/.kube/config

  # the proxy specs against "clusterkit up --runtime containerd"
  clusterkit conformance --kubeconfig ~/.kube/config --components proxy

  # the cluster DNS of a lab, asked from a pod
  clusterkit conformance --kubeconfig "$(clusterkit lab kubeconfig --name NAME)" --components dns`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConformance(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.components, "components", []string{"store", "api", "auth", "scheduler", "controllers", "kubelet", "proxy", "dns"}, "components to test: store, api, auth, scheduler, controllers, kubelet, proxy, dns (the proxy specs need root: their pods and node live in network namespaces)")
	f.StringVar(&o.kubeletRuntime, "kubelet-runtime", "sim", `runtime of the kubelet specs' and the proxy specs' pods: "sim" (simulated CRI runtime; the proxy specs give its pods real network namespaces) or "containerd" (a private containerd started for the run; needs root and scripts/install-containerd.sh)`)
	f.StringSliceVar(&o.stores, "stores", []string{"memory", "etcd"}, "reference stores to run the store specs against (memory, etcd)")
	f.StringVar(&o.apiStore, "api-store", "etcd", "store under the in-process API server for the api specs (memory, etcd)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "run the api specs (and with --components auth or proxy those specs) against the cluster of this kubeconfig instead of in-process (implies --components api unless set)")
	f.StringVar(&o.proxyNode, "proxy-node", "", "with --kubeconfig: the node whose service proxy the proxy specs check (default: the first Ready node)")
	f.StringVar(&o.proxyNodeIP, "proxy-node-ip", "", "with --kubeconfig: the node address where NodePorts must answer, reachable from its pods (default: its first non-loopback InternalIP)")
	f.StringVar(&o.dnsDomain, "dns-domain", "cluster.local", "with --kubeconfig: the cluster domain the dns specs ask under")
	f.StringVar(&o.labelFilter, "label-filter", "", "Ginkgo label filter, e.g. 'store && !Slow'")
	f.StringSliceVar(&o.focus, "focus", nil, "run only specs whose text matches this regular expression (repeatable)")
	f.StringSliceVar(&o.skip, "skip", nil, "skip specs whose text matches this regular expression (repeatable)")
	f.StringVar(&o.junit, "junit-report", "clusterkit-junit.xml", "write a JUnit XML report to this file ('' for none; with --report, only when given)")
	f.StringVar(&o.report, "report", "", "write the report files into this directory: junit.xml, e2e.log, results.json, report.html")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print every spec's progress and output")
	f.BoolVar(&o.noColor, "no-color", false, "no ANSI colours in the output (automatic when standard output is not a terminal, or NO_COLOR is set)")
	cmd.AddCommand(newCatalogueCommand(), newSelftestCommand(), newMutateCommand(), newUpstreamCommand(), newKubectlPathCommand())
	return cmd
}

func newCatalogueCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "catalogue",
		Short: "Print the behaviour catalogue (docs/behaviors.md) generated from the specs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := conformance.Catalogue()
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), conformance.Markdown(all))
			return err
		},
	}
}

// ginkgoT is the minimal testing.T Ginkgo needs outside go test.
type ginkgoT struct{ failed bool }

func (t *ginkgoT) Fail() { t.failed = true }

func runConformance(cmd *cobra.Command, o conformanceOptions) error {
	known := []string{"store", "api", "auth", "scheduler", "controllers", "kubelet", "proxy", "dns"}
	for _, c := range o.components {
		if !slices.Contains(known, c) {
			return fmt.Errorf("unknown component %q: choose from %s", c, strings.Join(known, ", "))
		}
	}
	if o.kubeconfig != "" && !cmd.Flags().Changed("components") {
		o.components = []string{"api"}
	}
	if o.kubeconfig != "" {
		for _, c := range o.components {
			if c != "api" && c != "auth" && c != "proxy" && c != "dns" {
				return fmt.Errorf("--kubeconfig runs the api, auth, proxy and dns specs against a live cluster; the %s specs run in-process only: drop %s from --components", c, c)
			}
		}
	}
	if !o.verbose {
		// The in-process components' libraries (quota admission, the aggregator's availability
		// controller) log their start and stop through klog: keep the report readable.
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	}
	target := "the in-process reference implementations"
	if o.kubeconfig != "" {
		target = "the cluster of " + o.kubeconfig
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "clusterkit conformance: the %s specs against %s …\n", strings.Join(o.components, ", "), target)
	stores := harness.Stores()
	store := func(name string) (conformance.StoreHarness, error) {
		h, ok := stores[name]
		if !ok {
			return h, fmt.Errorf("unknown store %q: choose from %s", name, strings.Join(slices.Sorted(maps.Keys(stores)), ", "))
		}
		return h, nil
	}
	if slices.Contains(o.components, "store") {
		for _, name := range o.stores {
			h, err := store(name)
			if err != nil {
				return err
			}
			conformance.DescribeStore(h)
		}
	}
	if slices.Contains(o.components, "api") {
		if o.kubeconfig != "" {
			conformance.DescribeAPI(harness.LiveAPI(o.kubeconfig))
		} else {
			h, err := store(o.apiStore)
			if err != nil {
				return err
			}
			conformance.DescribeAPI(harness.InProcessAPI(h))
		}
	}
	if slices.Contains(o.components, "auth") {
		if o.kubeconfig != "" {
			conformance.DescribeAuth(harness.LiveAuth(o.kubeconfig))
		} else {
			h, err := store(o.apiStore)
			if err != nil {
				return err
			}
			conformance.DescribeAuth(harness.InProcessAuth(h))
		}
	}
	out := cmd.ErrOrStderr()
	ginkgo.ReportAfterSuite("readable report", func(r ginkgotypes.Report) {
		fmt.Fprintln(out, "\nclusterkit conformance report:")
		for _, s := range r.SpecReports {
			if s.LeafNodeType != ginkgotypes.NodeTypeIt {
				continue
			}
			fmt.Fprintf(out, "  %-8s %s  %s\n", s.State, strings.Join(s.ContainerHierarchyTexts, " "), s.LeafNodeText)
			if s.State.Is(ginkgotypes.SpecStateSkipped|ginkgotypes.SpecStateFailureStates) && s.Failure.Message != "" {
				fmt.Fprintf(out, "           reason: %s\n", firstLine(s.Failure.Message))
			}
		}
	})
	var reportErr error
	if o.report != "" {
		dir, err := filepath.Abs(o.report)
		if err != nil {
			return err
		}
		behaviors, err := conformance.Catalogue()
		if err != nil {
			return err
		}
		v := version.Get()
		run := report.Run{Version: v.GitVersion, Target: target, Components: o.components}
		if v.GitCommit != version.Unknown {
			run.GitCommit = v.GitCommit
		}
		ginkgo.ReportAfterSuite("report files", func(r ginkgotypes.Report) {
			if reportErr = report.WriteDir(dir, r, report.FromGinkgo(r, behaviors, run)); reportErr == nil {
				fmt.Fprintf(out, "Report: %s (report.html, e2e.log, results.json, junit.xml)\n", dir)
			}
		})
		if !cmd.Flags().Changed("junit-report") {
			o.junit = ""
		}
	}
	if slices.Contains(o.components, "scheduler") && o.kubeconfig == "" {
		h, err := store(o.apiStore)
		if err != nil {
			return err
		}
		conformance.DescribeScheduler(harness.ReferenceScheduler(h, interfaces.LeastAllocated))
	}
	if slices.Contains(o.components, "controllers") && o.kubeconfig == "" {
		conformance.DescribeControllers(inprocess.Harness(inprocess.Options{}))
	}
	if slices.Contains(o.components, "dns") {
		if o.kubeconfig != "" {
			conformance.DescribeDNS(harness.LiveDNS(o.kubeconfig, o.dnsDomain))
		} else {
			h, err := store(o.apiStore)
			if err != nil {
				return err
			}
			conformance.DescribeDNS(harness.InProcessDNS("reference dns", h, harness.ReferenceDNS))
		}
	}
	if slices.Contains(o.components, "proxy") && o.kubeconfig != "" {
		var ip netip.Addr
		if o.proxyNodeIP != "" {
			var err error
			if ip, err = netip.ParseAddr(o.proxyNodeIP); err != nil {
				return fmt.Errorf("--proxy-node-ip %q: %w", o.proxyNodeIP, err)
			}
		}
		conformance.DescribeProxy(harness.LiveProxy(o.kubeconfig, o.proxyNode, ip))
	}
	if slices.Contains(o.components, "proxy") && o.kubeconfig == "" {
		rt := harness.ProxyLabSimulated
		if o.kubeletRuntime == "containerd" {
			rt = harness.ProxyLabContainerd
		}
		if why := harness.ProxyLabUnavailable(rt); why != "" {
			if cmd.Flags().Changed("components") {
				return fmt.Errorf("the proxy specs cannot run here: %s", why)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "not running the proxy specs: %s\n", why)
		} else {
			if rt == harness.ProxyLabContainerd {
				fmt.Fprintln(cmd.ErrOrStderr(), "the first proxy spec builds the test images and starts a private containerd …")
			}
			lab := harness.NewProxyLab(rt, harness.MemoryStore())
			defer lab.Close()
			conformance.DescribeProxy(lab.Harness("reference proxy on nftables", harness.NFTablesDataplane))
		}
	}
	if slices.Contains(o.components, "kubelet") && o.kubeconfig == "" {
		opts := kubeletharness.Options{Name: "clusterkit kubelet"}
		switch o.kubeletRuntime {
		case "sim":
		case "containerd":
			if why := kubeletharness.ContainerdUnavailable(); why != "" {
				return fmt.Errorf("--kubelet-runtime containerd: %s (run scripts/install-containerd.sh as root)", why)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "building the test images and starting a private containerd …")
			endpoint, stop, err := kubeletharness.StartContainerd(cmd.Context())
			if err != nil {
				return err
			}
			defer stop()
			opts = kubeletharness.Options{Name: "clusterkit kubelet", Runtime: endpoint}
		default:
			return fmt.Errorf("unknown --kubelet-runtime %q: choose sim or containerd", o.kubeletRuntime)
		}
		conformance.DescribeKubelet(kubeletharness.InProcess(opts))
	}
	gomega.RegisterFailHandler(ginkgo.Fail)
	suiteCfg, reporterCfg := ginkgo.GinkgoConfiguration()
	suiteCfg.LabelFilter = o.labelFilter
	suiteCfg.FocusStrings = o.focus
	suiteCfg.SkipStrings = o.skip
	reporterCfg.Verbose = o.verbose
	reporterCfg.NoColor = o.noColor || os.Getenv("NO_COLOR") != "" || !term.IsTerminal(int(os.Stdout.Fd()))
	if o.junit != "" {
		abs, err := filepath.Abs(o.junit)
		if err != nil {
			return err
		}
		reporterCfg.JUnitReport = abs
		defer fmt.Fprintf(cmd.ErrOrStderr(), "JUnit report: %s\n", abs)
	}
	t := &ginkgoT{}
	passed := ginkgo.RunSpecs(t, "clusterkit conformance", suiteCfg, reporterCfg) && !t.failed
	if reportErr != nil {
		return fmt.Errorf("the report files: %w", reportErr)
	}
	if !passed {
		return fmt.Errorf("conformance failed: see the failures above (rerun one with --focus <behaviour ID> -v)")
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
