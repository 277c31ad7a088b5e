package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/clusterkit/clusterkit/reference/harness"
)

// newBenchCommand is `clusterkit bench`: figures measured side by side in one run.
func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure API servers and whole clusters, side by side in one run",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBenchAPICommand(), newBenchScaleCommand())
	return cmd
}

// apiBenchOptions sizes `clusterkit bench api`.
type apiBenchOptions struct {
	rounds, creates, writers, listSize, lists, watchers, watchEvents int
}

func newBenchAPICommand() *cobra.Command {
	var kubeconfigs []string
	var builtin string
	o := apiBenchOptions{}
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Creates, lists and watch fan-out of API servers, side by side",
		Long: `Measure the two paths every controller and informer lives on — list and watch — and
creates, against one or more API servers in interleaved rounds (round 1 on every server, then
round 2 …), so that all share the machine's load alike, and print the medians of the rounds
side by side.

Each server is a column: clusterkit's API server started in this process (--builtin: "etcd",
on an embedded etcd as clusterkit up runs it, or "memory"; "none" to leave it out) and one
column per --kubeconfig (NAME=PATH or PATH; e.g. a real kube-apiserver's admin kubeconfig).
Clients are client-go with protobuf and no client-side rate limit. Every round works in a
namespace of its own (ckbench-…), deleted afterwards.

  creates       sequential ConfigMap creates: per second, p50 and p99 latency
  creates xN    the same with --writers concurrent writers
  list          a list of --list-size ConfigMaps in one namespace (no limit): p50 and p99
  watch fan-out --watchers watches of one namespace, --watch-events creates there: from the
                start of each create to its receipt by each watcher, p50 and p99`,
		Example: `  # clusterkit's API server on embedded etcd, alone
  clusterkit bench api
  # side by side with a real kube-apiserver
  clusterkit bench api --kubeconfig kube=/etc/kubernetes/admin.conf --rounds 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			// The in-process server's libraries log their shutdown; the figures are the output.
			klog.LogToStderr(false)
			klog.SetOutput(io.Discard)
			var cleanups []func()
			defer func() {
				for _, f := range slices.Backward(cleanups) {
					f()
				}
			}()
			targets, err := benchTargets(ctx, builtin, kubeconfigs, func(f func()) { cleanups = append(cleanups, f) })
			if err != nil {
				return err
			}
			return runAPIBench(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), targets, o)
		},
	}
	cmd.Flags().StringArrayVar(&kubeconfigs, "kubeconfig", nil, "an API server to measure, as NAME=PATH or PATH (repeatable)")
	cmd.Flags().StringVar(&builtin, "builtin", "etcd", `clusterkit's API server in this process on "etcd" (embedded), "memory", or "none"`)
	cmd.Flags().IntVar(&o.rounds, "rounds", 3, "interleaved rounds (medians are printed)")
	cmd.Flags().IntVar(&o.creates, "creates", 500, "ConfigMaps created per round, sequentially and again with --writers")
	cmd.Flags().IntVar(&o.writers, "writers", 8, "concurrent writers of the second create measurement")
	cmd.Flags().IntVar(&o.listSize, "list-size", 2001, "ConfigMaps in the listed namespace")
	cmd.Flags().IntVar(&o.lists, "lists", 20, "lists per round")
	cmd.Flags().IntVar(&o.watchers, "watchers", 50, "watchers of the fan-out measurement")
	cmd.Flags().IntVar(&o.watchEvents, "watch-events", 200, "creates the watchers receive")
	return cmd
}

// benchTarget is one column: an API server and a client of it.
type benchTarget struct {
	name   string
	client kubernetes.Interface
}

// benchTargets connects to the servers to measure; cleanup registers what ends them.
func benchTargets(ctx context.Context, builtin string, kubeconfigs []string, cleanup func(func())) ([]benchTarget, error) {
	var configs []struct {
		name string
		cfg  *rest.Config
	}
	add := func(name string, cfg *rest.Config) {
		configs = append(configs, struct {
			name string
			cfg  *rest.Config
		}{name, cfg})
	}
	switch builtin {
	case "none":
	case "etcd", "memory":
		store := harness.EtcdStore()
		if builtin == "memory" {
			store = harness.MemoryStore()
		}
		s, err := harness.InProcessAPI(store).Connect(ctx, cleanerFunc(cleanup))
		if err != nil {
			return nil, fmt.Errorf("starting clusterkit's API server on %s: %w", builtin, err)
		}
		add("clusterkit ("+builtin+")", s.Config)
	default:
		return nil, fmt.Errorf(`--builtin %q: want "etcd", "memory" or "none"`, builtin)
	}
	for _, kc := range kubeconfigs {
		name, path, found := strings.Cut(kc, "=")
		if !found {
			name, path = kc, kc
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", kc, err)
		}
		add(name, cfg)
	}
	if len(configs) == 0 {
		return nil, errors.New("nothing to measure: give --kubeconfig or leave --builtin on")
	}
	var targets []benchTarget
	for _, c := range configs {
		cfg := rest.CopyConfig(c.cfg)
		cfg.QPS, cfg.Burst = -1, 0
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		if _, err := client.Discovery().ServerVersion(); err != nil {
			return nil, fmt.Errorf("%s: the API server does not answer: %w", c.name, err)
		}
		targets = append(targets, benchTarget{name: c.name, client: client})
	}
	return targets, nil
}

// cleanerFunc adapts a cleanup registration to conformance.Cleaner.
type cleanerFunc func(func())

func (c cleanerFunc) Cleanup(f func()) { c(f) }

// apiFigures are one round's figures of one server (latencies in ms).
type apiFigures struct {
	createRate, createP50, createP99       float64
	parallelRate, parallelP50, parallelP99 float64
	listP50, listP99                       float64
	watchP50, watchP99                     float64
}

// runAPIBench measures every target in interleaved rounds and prints the medians.
func runAPIBench(ctx context.Context, out, progress io.Writer, targets []benchTarget, o apiBenchOptions) error {
	if o.rounds < 1 || o.creates < 1 || o.writers < 1 || o.lists < 1 || o.watchers < 1 || o.watchEvents < 1 || o.listSize < 0 {
		return errors.New("every count must be at least 1")
	}
	figures := make([][]apiFigures, len(targets))
	for r := range o.rounds {
		for i, t := range targets {
			fmt.Fprintf(progress, "round %d/%d: %s …\n", r+1, o.rounds, t.name)
			f, err := apiRound(ctx, t.client, o)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, t.name, err)
			}
			figures[i] = append(figures[i], f)
		}
	}
	rows := []struct {
		label string
		pick  func(apiFigures) float64
	}{
		{"creates/s (sequential)", func(f apiFigures) float64 { return f.createRate }},
		{"  create p50 ms", func(f apiFigures) float64 { return f.createP50 }},
		{"  create p99 ms", func(f apiFigures) float64 { return f.createP99 }},
		{fmt.Sprintf("creates/s (%d writers)", o.writers), func(f apiFigures) float64 { return f.parallelRate }},
		{"  create p50 ms", func(f apiFigures) float64 { return f.parallelP50 }},
		{"  create p99 ms", func(f apiFigures) float64 { return f.parallelP99 }},
		{fmt.Sprintf("list of %d p50 ms", o.listSize), func(f apiFigures) float64 { return f.listP50 }},
		{"  list p99 ms", func(f apiFigures) float64 { return f.listP99 }},
		{fmt.Sprintf("watch fan-out %d×%d p50 ms", o.watchers, o.watchEvents), func(f apiFigures) float64 { return f.watchP50 }},
		{"  watch p99 ms", func(f apiFigures) float64 { return f.watchP99 }},
	}
	fmt.Fprintf(out, "medians of %d interleaved rounds\n%-32s", o.rounds, "")
	for _, t := range targets {
		fmt.Fprintf(out, " %22s", t.name)
	}
	fmt.Fprintln(out)
	for _, row := range rows {
		fmt.Fprintf(out, "%-32s", row.label)
		for i := range targets {
			vals := make([]float64, 0, len(figures[i]))
			for _, f := range figures[i] {
				vals = append(vals, row.pick(f))
			}
			fmt.Fprintf(out, " %22.2f", median(vals))
		}
		fmt.Fprintln(out)
	}
	return nil
}

// apiRound runs one round of every measurement against one server, in namespaces of its own.
func apiRound(ctx context.Context, client kubernetes.Interface, o apiBenchOptions) (apiFigures, error) {
	var f apiFigures
	suffix := fmt.Sprintf("%06d", rand.IntN(1_000_000))
	ns, watchNS := "ckbench-"+suffix, "ckbench-watch-"+suffix
	for _, n := range []string{ns, watchNS} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			return f, fmt.Errorf("creating namespace %s: %w", n, err)
		}
		defer func() {
			_ = client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), n, metav1.DeleteOptions{})
		}()
	}
	cms := client.CoreV1().ConfigMaps(ns)
	create := func(name string) (time.Duration, error) {
		start := time.Now()
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"key": "value"}}, metav1.CreateOptions{})
		return time.Since(start), err
	}

	lat := make([]time.Duration, 0, o.creates)
	start := time.Now()
	for i := range o.creates {
		d, err := create(fmt.Sprintf("seq-%d", i))
		if err != nil {
			return f, err
		}
		lat = append(lat, d)
	}
	f.createRate = float64(o.creates) / time.Since(start).Seconds()
	f.createP50, f.createP99 = percentileMS(lat, 50), percentileMS(lat, 99)

	var mu sync.Mutex
	lat = lat[:0]
	var firstErr error
	var wg sync.WaitGroup
	start = time.Now()
	for w := range o.writers {
		wg.Go(func() {
			for i := w; i < o.creates; i += o.writers {
				d, err := create(fmt.Sprintf("par-%d", i))
				mu.Lock()
				lat = append(lat, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return f, firstErr
	}
	f.parallelRate = float64(o.creates) / time.Since(start).Seconds()
	f.parallelP50, f.parallelP99 = percentileMS(lat, 50), percentileMS(lat, 99)

	// The listed namespace holds exactly listSize ConfigMaps.
	for i := 2 * o.creates; i < o.listSize; i++ {
		if _, err := create(fmt.Sprintf("fill-%d", i)); err != nil {
			return f, err
		}
	}
	for i := o.listSize; i < 2*o.creates; i++ {
		name := fmt.Sprintf("seq-%d", i)
		if i >= o.creates {
			name = fmt.Sprintf("par-%d", i-o.creates)
		}
		if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return f, err
		}
	}
	lat = lat[:0]
	for range o.lists {
		start := time.Now()
		l, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			return f, err
		}
		lat = append(lat, time.Since(start))
		if len(l.Items) != o.listSize {
			return f, fmt.Errorf("the list holds %d ConfigMaps, want %d", len(l.Items), o.listSize)
		}
	}
	f.listP50, f.listP99 = percentileMS(lat, 50), percentileMS(lat, 99)

	received, err := fanOut(ctx, client, watchNS, o.watchers, o.watchEvents)
	if err != nil {
		return f, err
	}
	f.watchP50, f.watchP99 = percentileMS(received, 50), percentileMS(received, 99)
	return f, nil
}

// fanOut starts watchers watches of ns, creates events ConfigMaps there back to back and
// returns, for every event and watcher, the time from the start of the create to the receipt.
func fanOut(ctx context.Context, client kubernetes.Interface, ns string, watchers, events int) ([]time.Duration, error) {
	cms := client.CoreV1().ConfigMaps(ns)
	created := make([]time.Time, events)
	var mu sync.Mutex
	var lat []time.Duration
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ws []watch.Interface
	defer func() {
		for _, w := range ws {
			w.Stop()
		}
	}()
	for range watchers {
		w, err := cms.Watch(wctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("starting a watch: %w", err)
		}
		ws = append(ws, w)
	}
	var wg sync.WaitGroup
	var createdMu sync.RWMutex
	for _, w := range ws {
		wg.Go(func() {
			for seen := 0; seen < events; {
				ev, ok := <-w.ResultChan()
				if !ok {
					return
				}
				if ev.Type != watch.Added {
					continue
				}
				now := time.Now()
				cm, isCM := ev.Object.(*corev1.ConfigMap)
				if !isCM {
					continue
				}
				var i int
				if _, err := fmt.Sscanf(cm.Name, "ev-%d", &i); err != nil || i < 0 || i >= events {
					continue
				}
				createdMu.RLock()
				d := now.Sub(created[i])
				createdMu.RUnlock()
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				seen++
			}
		})
	}
	for i := range events {
		createdMu.Lock()
		created[i] = time.Now()
		createdMu.Unlock()
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ev-%d", i)}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cancel()
		<-done
	}
	if want := watchers * events; len(lat) != want {
		return nil, fmt.Errorf("the watchers received %d of %d events within a minute", len(lat), want)
	}
	return lat, nil
}

// percentileMS returns the p-th percentile of lat in milliseconds (lat is sorted).
func percentileMS(lat []time.Duration, p int) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := (len(lat) - 1) * p / 100
	return float64(lat[i].Microseconds()) / 1000
}

// median returns the median of vals.
func median(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vals))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
