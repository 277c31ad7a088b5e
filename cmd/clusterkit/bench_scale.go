package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// scaleOptions size `clusterkit bench scale`.
type scaleOptions struct {
	nodes, pods, perDeployment, nodePods int
	idle, settle, timeout                time.Duration
	baseline, kubectl, dir               string
	minFreeMiB                           int64
}

func newBenchScaleCommand() *cobra.Command {
	o := scaleOptions{nodes: 1000, pods: 30000, perDeployment: 1000, nodePods: 110,
		idle: 60 * time.Second, settle: 15 * time.Second, timeout: 2 * time.Hour, minFreeMiB: 1024}
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "A whole cluster at Kubernetes' scale limits: nodes, pods, time to Running, idle CPU, memory, API latency",
		Long: `Start a cluster as "clusterkit up --runtime sim --nodes N" does — the real API server on embedded
etcd, scheduler, controller manager and N reference kubelets on the simulated runtime, in a
process of its own — and measure it at scale:

  nodes Ready       from the start of the process to N Ready nodes
  idle, nodes       CPU of the process with the nodes only (% of one core, over --idle)
  pods Running      from the creation of the Deployments (--pods replicas in Deployments of
                    --per-deployment) to every pod Running, checked by a list of every pod
  API p50/p99       latencies while the pods start: a GET of a node, a LIST of 500 pods, a
                    ConfigMap create (Kubernetes' API-call SLO: p99 ≤ 1 s)
  idle, pods        CPU with every pod Running (% of one core)
  RSS, peak RSS     of the process after the pods are Running, and its high-water mark
  kubectl get pods  the time of "kubectl get pods -A" (chunks of 500, as kubectl lists)

Kubernetes' published limits are 5,000 nodes and 150,000 pods (30 per node at most 110): the
issue's run is --nodes 5000 --pods 150000. One process holds about 9 open files per node and 1
per pod: a size the hard limit (ulimit -Hn) cannot hold is refused before anything starts. A run
stops with an error before the machine runs out of memory (--min-free-memory) and says how far it
got; a failed run's directory (and its up.log) is kept.

--baseline BIN measures another clusterkit binary the same way first (one cluster at a time, so
that both have the machine to themselves) and prints the two side by side, e.g. the previous
commit's build.`,
		Example: `  # Kubernetes' limits (long: tens of minutes on 2 cores)
  clusterkit bench scale --nodes 5000 --pods 150000
  # against the previous commit's binary
  git worktree add /tmp/base HEAD~1 && (cd /tmp/base && go build -o /tmp/ck-base ./cmd/clusterkit)
  clusterkit bench scale --nodes 1000 --pods 20000 --baseline /tmp/ck-base`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding this executable: %w", err)
			}
			// Ctrl-C stops the cluster being measured (its own process group) and removes its data.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runScaleBench(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), self, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.nodes, "nodes", o.nodes, "worker nodes (reference kubelets on the simulated runtime)")
	f.IntVar(&o.pods, "pods", o.pods, "pods to run, as replicas of Deployments")
	f.IntVar(&o.perDeployment, "per-deployment", o.perDeployment, "replicas per Deployment")
	f.IntVar(&o.nodePods, "node-pods", o.nodePods, "pod capacity of each node (kubelet's maxPods)")
	f.DurationVar(&o.idle, "idle", o.idle, "window over which the idle CPU is measured")
	f.DurationVar(&o.settle, "settle", o.settle, "wait before each idle window")
	f.DurationVar(&o.timeout, "timeout", o.timeout, "give up a cluster that is not done after this long")
	f.StringVar(&o.baseline, "baseline", "", "another clusterkit binary to measure first, side by side")
	f.StringVar(&o.kubectl, "kubectl", "", `the kubectl to time "get pods -A" with (default: $`+"CLUSTERKIT_KUBECTL"+`, else kubectl on PATH; none found: that row says so)`)
	f.StringVar(&o.dir, "dir", "", "where the clusters' data and logs go (default: a temporary directory, removed afterwards)")
	f.Int64Var(&o.minFreeMiB, "min-free-memory", o.minFreeMiB, "stop a run when the machine's available memory falls below this many MiB")
	return cmd
}

// scaleFigures are one binary's figures.
type scaleFigures struct {
	nodesReady, podsRunning, kubectlGet time.Duration
	idleNodes, idlePods                 float64 // % of one core
	rssMiB, peakMiB                     int64
	get, list, create                   latencies
	kubectlNote                         string
}

// latencies collects request durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// quantile returns the q-quantile (nearest rank) in ms, or -1 without samples.
func (l *latencies) quantile(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return -1
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

func runScaleBench(ctx context.Context, out, progress io.Writer, self string, o scaleOptions) error {
	switch {
	case o.nodes < 1 || o.pods < 0 || o.perDeployment < 1 || o.nodePods < 1:
		return errors.New("--nodes, --per-deployment and --node-pods must be at least 1, --pods at least 0")
	case o.pods > o.nodes*o.nodePods:
		return fmt.Errorf("--pods %d do not fit on %d nodes of %d pods each (--node-pods); add nodes or raise --node-pods", o.pods, o.nodes, o.nodePods)
	}
	if err := checkOpenFiles(o.nodes, o.pods); err != nil {
		return err
	}
	if o.kubectl == "" {
		o.kubectl = os.Getenv("CLUSTERKIT_KUBECTL")
	}
	if o.kubectl == "" {
		o.kubectl, _ = exec.LookPath("kubectl")
	} else if _, err := exec.LookPath(o.kubectl); err != nil {
		// Said now, not after a run of many minutes.
		return fmt.Errorf("--kubectl %s: %w (pass the path of a kubectl, e.g. $(clusterkit conformance kubectl))", o.kubectl, err)
	}
	dir := o.dir
	failed := false
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ckscale")
		if err != nil {
			return err
		}
		// Kept when a run fails: its up.log says why.
		defer func() {
			if !failed {
				_ = os.RemoveAll(tmp)
			}
		}()
		dir = tmp
	}
	type column struct {
		name string
		f    *scaleFigures
	}
	var cols []column
	bins := [][2]string{{"this binary", self}}
	if o.baseline != "" {
		bins = append([][2]string{{"baseline", o.baseline}}, bins...)
	}
	for i, b := range bins {
		say := func(format string, args ...any) {
			fmt.Fprintf(progress, "[%s] "+format+"\n", append([]any{b[0]}, args...)...)
		}
		f, err := measureScale(ctx, b[1], filepath.Join(dir, strconv.Itoa(i)), o, say)
		if err != nil {
			failed = true
			return fmt.Errorf("%s (%s): %w", b[0], b[1], err)
		}
		cols = append(cols, column{b[0], f})
	}
	fmt.Fprintf(out, "clusterkit bench scale: %d nodes, %d pods (simulated runtime), idle windows of %s\n", o.nodes, o.pods, o.idle)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	header := "\t"
	for _, c := range cols {
		header += c.name + "\t"
	}
	fmt.Fprintln(tw, header)
	row := func(label string, v func(*scaleFigures) string) {
		line := label + "\t"
		for _, c := range cols {
			line += v(c.f) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	secs := func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
	ms := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f ms", v)
	}
	row("nodes Ready after", func(f *scaleFigures) string { return secs(f.nodesReady) })
	row("idle, nodes only", func(f *scaleFigures) string { return fmt.Sprintf("%.1f %%", f.idleNodes) })
	row("pods Running after", func(f *scaleFigures) string { return secs(f.podsRunning) })
	row("  GET node p50 / p99", func(f *scaleFigures) string { return ms(f.get.quantile(0.5)) + " / " + ms(f.get.quantile(0.99)) })
	row("  LIST 500 pods p50 / p99", func(f *scaleFigures) string { return ms(f.list.quantile(0.5)) + " / " + ms(f.list.quantile(0.99)) })
	row("  create p50 / p99", func(f *scaleFigures) string {
		return ms(f.create.quantile(0.5)) + " / " + ms(f.create.quantile(0.99))
	})
	row("idle, pods Running", func(f *scaleFigures) string { return fmt.Sprintf("%.1f %%", f.idlePods) })
	row("RSS / peak", func(f *scaleFigures) string { return fmt.Sprintf("%d / %d MiB", f.rssMiB, f.peakMiB) })
	row("kubectl get pods -A", func(f *scaleFigures) string {
		if f.kubectlNote != "" {
			return f.kubectlNote
		}
		return secs(f.kubectlGet)
	})
	return tw.Flush()
}

// measureScale starts bin's `up` in dir, measures it and stops it.
func measureScale(ctx context.Context, bin, dir string, o scaleOptions, say func(string, ...any)) (*scaleFigures, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("not done within --timeout %s", o.timeout))
	defer cancel()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "up.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cmd := exec.Command(bin, "up", "--port", "0", "--runtime", "sim", "--nodes", strconv.Itoa(o.nodes),
		"--node-pods", strconv.Itoa(o.nodePods), "--data-dir", filepath.Join(dir, "data"), "--kubeconfig", kubeconfig)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C of the benchmark reaches the cluster through this
	// function's stop, not twice.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s up: %w", bin, err)
	}
	say("started %s up --nodes %d (pid %d, log %s)", bin, o.nodes, cmd.Process.Pid, logPath)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = os.RemoveAll(filepath.Join(dir, "data"))
	}()
	pid := cmd.Process.Pid
	// The guard: a run that would exhaust the machine's memory stops and says how far it got.
	guardCtx, stopGuard := context.WithCancelCause(ctx)
	defer stopGuard(nil)
	go func() {
		for {
			select {
			case <-guardCtx.Done():
				return
			case err := <-exited:
				exited <- err
				stopGuard(fmt.Errorf("up exited: %v (its log: %s)", err, logPath))
				return
			case <-time.After(2 * time.Second):
			}
			if free := memAvailableMiB(); free >= 0 && free < o.minFreeMiB {
				stopGuard(fmt.Errorf("stopped: the machine's available memory fell to %d MiB (--min-free-memory %d) with the cluster at %d MiB RSS", free, o.minFreeMiB, procStatusKiB(pid, "VmRSS")/1024))
				return
			}
		}
	}()
	ctx = guardCtx
	failed := func(what string, err error) error {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("%s: %w", what, cause)
		}
		return fmt.Errorf("%s: %w", what, err)
	}

	var client kubernetes.Interface
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		if _, err := os.Stat(kubeconfig); err != nil {
			return false, nil
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return false, nil
		}
		cfg.QPS, cfg.Burst = -1, 0
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		client, err = kubernetes.NewForConfig(cfg)
		return err == nil, err
	}); err != nil {
		return nil, failed("waiting for the kubeconfig", err)
	}
	f := &scaleFigures{}
	lastSaid := time.Now()
	if err := wait.PollUntilContextCancel(ctx, time.Second, true, func(context.Context) (bool, error) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, nil
		}
		ready := 0
		for i := range list.Items {
			if nodeReady(&list.Items[i]) {
				ready++
			}
		}
		if time.Since(lastSaid) > 10*time.Second {
			say("%d of %d nodes Ready (%s)", ready, o.nodes, time.Since(started).Round(time.Second))
			lastSaid = time.Now()
		}
		return ready >= o.nodes, nil
	}); err != nil {
		return nil, failed(fmt.Sprintf("waiting for %d Ready nodes", o.nodes), err)
	}
	f.nodesReady = time.Since(started)
	say("%d nodes Ready after %s; idle CPU over %s …", o.nodes, f.nodesReady.Round(100*time.Millisecond), o.idle)
	if f.idleNodes, err = idleCPU(ctx, pid, o.settle, o.idle); err != nil {
		return nil, failed("measuring idle CPU", err)
	}
	say("idle with the nodes only: %.1f %% of a core", f.idleNodes)

	const ns = "ckbench-scale"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, failed("creating namespace "+ns, err)
	}
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return nil, failed("waiting for the namespace's default ServiceAccount", err)
	}
	// The API probe: the latencies a user and the components see while the pods start.
	probeCtx, stopProbe := context.WithCancel(ctx)
	var probes sync.WaitGroup
	probes.Add(1)
	go func() {
		defer probes.Done()
		probeAPI(probeCtx, client, ns, o.nodes, f)
	}()
	created := time.Now()
	for i, left := 0, o.pods; left > 0; i++ {
		n := min(left, o.perDeployment)
		left -= n
		if _, err := client.AppsV1().Deployments(ns).Create(ctx, scaleDeployment(fmt.Sprintf("scale-%04d", i), n), metav1.CreateOptions{}); err != nil {
			stopProbe()
			return nil, failed("creating the Deployments", err)
		}
	}
	say("%d Deployments created (%d pods); waiting for every pod Running …", (o.pods+o.perDeployment-1)/o.perDeployment, o.pods)
	lastSaid = time.Now()
	err = wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(context.Context) (bool, error) {
		deps, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, nil
		}
		var ready, updated int32
		for _, d := range deps.Items {
			ready += d.Status.ReadyReplicas
			updated += d.Status.Replicas
		}
		if time.Since(lastSaid) >= 10*time.Second {
			// The Deployments' status: a ReplicaSet reports its pods after each batch of creates.
			say("%s: the Deployments report %d pods, %d Ready; RSS %d MiB, machine's available memory %d MiB", time.Since(created).Round(time.Second), updated, ready, procStatusKiB(pid, "VmRSS")/1024, memAvailableMiB())
			lastSaid = time.Now()
		}
		if int(ready) < o.pods {
			return false, nil
		}
		// Ready says the containers run; the pods' own phase says Running.
		running, err := countRunning(ctx, client, ns)
		return err == nil && running >= o.pods, nil
	})
	stopProbe()
	probes.Wait()
	if err != nil {
		return nil, failed(fmt.Sprintf("waiting for %d Running pods", o.pods), err)
	}
	f.podsRunning = time.Since(created)
	say("%d pods Running after %s; idle CPU over %s …", o.pods, f.podsRunning.Round(100*time.Millisecond), o.idle)
	if f.idlePods, err = idleCPU(ctx, pid, o.settle, o.idle); err != nil {
		return nil, failed("measuring idle CPU", err)
	}
	f.rssMiB, f.peakMiB = procStatusKiB(pid, "VmRSS")/1024, procStatusKiB(pid, "VmHWM")/1024
	say("idle with the pods Running: %.1f %% of a core, RSS %d MiB (peak %d MiB)", f.idlePods, f.rssMiB, f.peakMiB)
	if o.kubectl == "" {
		f.kubectlNote = "no kubectl (--kubectl)"
	} else {
		start := time.Now()
		kc := exec.CommandContext(ctx, o.kubectl, "--kubeconfig", kubeconfig, "get", "pods", "-A")
		stdout, err := kc.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := kc.Start(); err != nil {
			return nil, failed("running kubectl", err)
		}
		lines := 0
		for s := bufio.NewScanner(stdout); s.Scan(); {
			lines++
		}
		if err := kc.Wait(); err != nil {
			return nil, failed("kubectl get pods -A", err)
		}
		f.kubectlGet = time.Since(start)
		if lines-1 < o.pods {
			return nil, fmt.Errorf("kubectl get pods -A listed %d pods, want at least %d", lines-1, o.pods)
		}
		say("kubectl get pods -A: %d pods in %s", lines-1, f.kubectlGet.Round(10*time.Millisecond))
	}
	return f, nil
}

// Open files a cluster of `up` holds in its one process, measured (2026-12-07): per node 9 — the
// kubelet's API connection (both ends are in the process), its two CRI connections (both ends)
// and three listeners (kubelet API, its second port, the CRI socket); per pod 1 — the simulated
// runtime's claim of the pod's IP. The rest (etcd, the control plane) stays under 1,000.
const (
	filesPerNode = 9
	filesPerPod  = 1
	filesBase    = 1000
)

// checkOpenFiles refuses a size whose open files the process's hard limit cannot hold: `up`
// would fail part-way ("too many open files") after minutes of work.
func checkOpenFiles(nodes, pods int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	need := uint64(filesBase + nodes*filesPerNode + pods*filesPerPod)
	if need <= lim.Max {
		return nil
	}
	return fmt.Errorf("%d nodes and %d pods in one process need about %d open files (%d per node, %d per pod), and this machine allows %d (ulimit -Hn; raising it needs root with CAP_SYS_RESOURCE): make --nodes and --pods smaller, or raise the hard limit", nodes, pods, need, filesPerNode, filesPerPod, lim.Max)
}

// scaleDeployment is a Deployment of n pause pods.
func scaleDeployment(name string, n int) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(n)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "pause", Image: "clusterkit.local/ckimage:v1", Args: []string{"pause"},
				}}},
			},
		},
	}
}

// probeAPI measures a GET, a LIST and a create every 250 ms until ctx ends.
func probeAPI(ctx context.Context, client kubernetes.Interface, ns string, nodes int, f *scaleFigures) {
	names := upNodeNames(nodes)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		t := time.Now()
		if _, err := client.CoreV1().Nodes().Get(ctx, names[rand.IntN(nodes)], metav1.GetOptions{}); err == nil {
			f.get.add(time.Since(t))
		}
		t = time.Now()
		if _, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 500}); err == nil {
			f.list.add(time.Since(t))
		}
		t = time.Now()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("probe-%d", i)}, Data: map[string]string{"k": "v"}}
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err == nil {
			f.create.add(time.Since(t))
			_ = client.CoreV1().ConfigMaps(ns).Delete(ctx, cm.Name, metav1.DeleteOptions{})
		}
	}
}

// countRunning lists the namespace's pods in pages and counts those Running.
func countRunning(ctx context.Context, client kubernetes.Interface, ns string) (int, error) {
	running := 0
	opts := metav1.ListOptions{Limit: 5000}
	for {
		list, err := client.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return running, err
		}
		for i := range list.Items {
			if list.Items[i].Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if list.Continue == "" {
			return running, nil
		}
		opts.Continue = list.Continue
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// idleCPU waits settle, then returns the CPU pid used over window in % of one core.
func idleCPU(ctx context.Context, pid int, settle, window time.Duration) (float64, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(settle):
	}
	before, err := procCPUTicks(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(window):
	}
	after, err := procCPUTicks(pid)
	if err != nil {
		return 0, err
	}
	const clockTicks = 100 // USER_HZ on Linux
	return float64(after-before) / clockTicks / time.Since(start).Seconds() * 100, nil
}

// procCPUTicks is utime+stime of pid in clock ticks (proc(5)).
func procCPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command may hold spaces: the fields after it follow the last ')'.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime, nil
}

// procStatusKiB reads a kB field of /proc/PID/status (VmRSS, VmHWM); 0 when absent.
func procStatusKiB(pid int, field string) int64 {
	return kibField(fmt.Sprintf("/proc/%d/status", pid), field)
}

// memAvailableMiB is the machine's MemAvailable in MiB, -1 when unknown.
func memAvailableMiB() int64 {
	kib := kibField("/proc/meminfo", "MemAvailable")
	if kib == 0 {
		return -1
	}
	return kib / 1024
}

func kibField(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, rest, ok := strings.Cut(line, ":"); ok && name == field {
			if fs := strings.Fields(rest); len(fs) > 0 {
				v, _ := strconv.ParseInt(fs[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
