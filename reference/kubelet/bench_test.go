package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// The benchmarks run only when CLUSTERKIT_BENCH is set:
//
//	CLUSTERKIT_BENCH=1 go test ./reference/kubelet -run 'TestBench' -v -timeout 30m
//
// The pod start benchmarks run, per pod shape, a paced run (CLUSTERKIT_BENCH_PODS pods,
// default 100, created at CLUSTERKIT_BENCH_RATE pods/s, default 5) and bursts of 30 and 100
// pods created back to back, and print p50/p99/max of each. Setting CLUSTERKIT_BENCH_RATE
// (0: back to back) or CLUSTERKIT_BENCH_PODS runs that one run only.
// CLUSTERKIT_BENCH_PARALLEL_STARTS sets the kubelet's MaxParallelPodStarts.
// CLUSTERKIT_BENCH_NODES (default 100) and CLUSTERKIT_BENCH_PODS_PER_NODE (default 10) size
// TestBenchSimulatedScale.
func benchEnabled(t *testing.T) {
	if os.Getenv("CLUSTERKIT_BENCH") == "" {
		t.Skip("benchmark: set CLUSTERKIT_BENCH=1 to run")
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: new(int64), Containers: []corev1.Container{{
			Name: "c", Image: "clusterkit.local/ckimage:v1", ImagePullPolicy: corev1.PullIfNotPresent,
			Command: []string{"/ckimage"}, Args: []string{"sleep", "3600"},
		}}},
	}
}

// benchPodInitVolumes is benchPod with what a real workload's pod often has: an init container
// that must exit before the app starts, an emptyDir shared by both and a ConfigMap volume
// (benchConfigMap, created by the benchmark).
func benchPodInitVolumes(name, node string) *corev1.Pod {
	p := benchPod(name, node)
	mounts := []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "cfg", MountPath: "/etc/cfg"}}
	p.Spec.InitContainers = []corev1.Container{{
		Name: "init", Image: "clusterkit.local/ckimage:v1", ImagePullPolicy: corev1.PullIfNotPresent,
		Command: []string{"/ckimage"}, Args: []string{"exit", "--code", "0"}, VolumeMounts: mounts,
	}}
	p.Spec.Containers[0].VolumeMounts = mounts
	p.Spec.Volumes = []corev1.Volume{
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: benchConfigMap}}}},
	}
	return p
}

const benchConfigMap = "bench-cfg"

// startLatencies creates n pods on node (named prefix-NNN, built by mk) and returns, per pod,
// the time from its Create call to the first Running seen through a watch.
func startLatencies(ctx context.Context, t *testing.T, rc *rest.Config, node string, n int, rate float64, prefix string, mk func(name, node string) *corev1.Pod) []time.Duration {
	client := kubernetes.NewForConfigOrDie(rc)
	w, err := client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	running := map[string]time.Duration{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Status.Phase != corev1.PodRunning {
				continue
			}
			now := time.Now()
			mu.Lock()
			if c, ok := created[p.Name]; ok {
				if _, seen := running[p.Name]; !seen {
					running[p.Name] = now.Sub(c)
				}
			}
			all := len(running) == n
			mu.Unlock()
			if all {
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		mu.Lock()
		created[name] = time.Now()
		mu.Unlock()
		if _, err := client.CoreV1().Pods("default").Create(ctx, mk(name, node), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if rate > 0 {
			time.Sleep(time.Duration(float64(time.Second) / rate))
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("only %d of %d pods Running", len(running), n)
	}
	out := make([]time.Duration, 0, n)
	for _, d := range running {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	i := int(float64(len(ds)-1) * p)
	return ds[i]
}

// startRun is one pod start measurement: n pods created at rate pods/s (0: back to back).
type startRun struct {
	n    int
	rate float64
}

func (r startRun) String() string {
	if r.rate > 0 {
		return fmt.Sprintf("%d at %g/s", r.n, r.rate)
	}
	return fmt.Sprintf("burst of %d", r.n)
}

// startRuns are the runs of the pod start benchmark (see the comment at the top).
func startRuns() []startRun {
	n := envInt("CLUSTERKIT_BENCH_PODS", 100)
	r, err := strconv.ParseFloat(os.Getenv("CLUSTERKIT_BENCH_RATE"), 64)
	switch {
	case err == nil:
		return []startRun{{n, r}}
	case os.Getenv("CLUSTERKIT_BENCH_PODS") != "":
		return []startRun{{n, 5}}
	}
	return []startRun{{n, 5}, {30, 0}, {100, 0}}
}

// runStartLatency measures pod start latency on one node of the runtime at runtimeEndpoint,
// for each run of startRuns and each pod shape.
func runStartLatency(t *testing.T, runtimeEndpoint string) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	rc, stop, err := kubeletharness.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var kc kubelet.Config
	if n, err := strconv.Atoi(os.Getenv("CLUSTERKIT_BENCH_PARALLEL_STARTS")); err == nil {
		kc.MaxParallelPodStarts = n
	}
	node, err := localnode.Start(ctx, rc, localnode.Config{Name: "bench", Runtime: runtimeEndpoint, Kubelet: kc})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	client := kubernetes.NewForConfigOrDie(rc)
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: benchConfigMap}, Data: map[string]string{"app.conf": "level=info"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The two shapes one after the other on the same node, printed side by side.
	shapes := []struct {
		name, prefix string
		mk           func(name, node string) *corev1.Pod
	}{
		{"bare pod (one container)", "bare", benchPod},
		{"init container + emptyDir + configMap", "initvol", benchPodInitVolumes},
	}
	type row struct {
		run, shape    string
		p50, p99, max time.Duration
	}
	var rows []row
	for _, run := range startRuns() {
		for _, sh := range shapes {
			ds := startLatencies(ctx, t, rc, "bench", run.n, run.rate, sh.prefix, sh.mk)
			rows = append(rows, row{run.String(), sh.name, percentile(ds, 0.50), percentile(ds, 0.99), ds[len(ds)-1]})
			t.Logf("%-14s %-40s p50 %s p99 %s", run, sh.name, percentile(ds, 0.50).Round(time.Millisecond), percentile(ds, 0.99).Round(time.Millisecond))
			deleteAll(ctx, t, client, sh.prefix, run.n)
		}
	}
	starts := "unbounded"
	if kc.MaxParallelPodStarts > 0 {
		starts = strconv.Itoa(kc.MaxParallelPodStarts)
	}
	t.Logf("pod start latency (create → Running seen through the API), kubelet MaxParallelPodStarts %s:", starts)
	t.Logf("%-14s %-40s %10s %10s %10s", "pods", "shape", "p50", "p99", "max")
	for _, r := range rows {
		t.Logf("%-14s %-40s %10s %10s %10s", r.run, r.shape, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.max.Round(time.Millisecond))
	}
	t.Logf("(Kubernetes' pod startup SLO: p99 ≤ 5s excluding image pull, for stateless pods)")
}

// deleteAll deletes the pods prefix-000 … and waits until they are gone: the kubelet removes
// the containers before the pods go, so that stopping the runtime afterwards leaves no
// container behind (and the next run starts on an idle node).
func deleteAll(ctx context.Context, t *testing.T, client kubernetes.Interface, prefix string, n int) {
	zero := int64(0)
	for i := 0; i < n; i++ {
		_ = client.CoreV1().Pods("default").Delete(ctx, fmt.Sprintf("%s-%03d", prefix, i), metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}
	for {
		l, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err == nil && len(l.Items) == 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("pods %s-* still present after their deletion", prefix)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestBenchPodStartLatencySimulated(t *testing.T) {
	benchEnabled(t)
	runStartLatency(t, localnode.Simulated)
}

func TestBenchPodStartLatencyContainerd(t *testing.T) {
	benchEnabled(t)
	if why := kubeletharness.ContainerdUnavailable(); why != "" {
		t.Skipf("real containers unavailable: %s", why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	endpoint, stop, err := kubeletharness.StartContainerd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	runStartLatency(t, endpoint)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// TestBenchSimulatedScale runs many simulated nodes and pods in this
// process and reports the memory per node and per pod.
func TestBenchSimulatedScale(t *testing.T) {
	benchEnabled(t)
	nodes := envInt("CLUSTERKIT_BENCH_NODES", 100)
	perNode := envInt("CLUSTERKIT_BENCH_PODS_PER_NODE", 10)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	rc, stop, err := kubeletharness.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	base := heapInUse()
	g0 := runtime.NumGoroutine()
	start := time.Now()
	var list []*localnode.Node
	defer func() {
		for _, n := range list {
			n.Close()
		}
	}()
	for i := 0; i < nodes; i++ {
		n, err := localnode.Start(ctx, rc, localnode.Config{
			Name: fmt.Sprintf("sim-%03d", i), Sim: simruntime.Options{PodSubnet: simruntime.NodeSubnet(i)},
			Kubelet: kubelet.Config{SyncInterval: 2 * time.Second},
		})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		list = append(list, n)
	}
	withNodes := heapInUse()
	g1 := runtime.NumGoroutine()
	t.Logf("%d simulated nodes started in %s: %.0f KiB and %d goroutines per node",
		nodes, time.Since(start).Round(time.Millisecond), float64(withNodes-base)/float64(nodes)/1024, (g1-g0)/nodes)
	client := kubernetes.NewForConfigOrDie(rc)
	start = time.Now()
	total := nodes * perNode
	for i := 0; i < total; i++ {
		p := benchPod(fmt.Sprintf("scale-%05d", i), fmt.Sprintf("sim-%03d", i%nodes))
		if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		l, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
		if err == nil && len(l.Items) == total {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not all %d pods Running", total)
		}
		time.Sleep(500 * time.Millisecond)
	}
	withPods := heapInUse()
	g2 := runtime.NumGoroutine()
	t.Logf("%d pods (%d per node) Running in %s: %.1f KiB and %d goroutines per pod (process total heap+stacks %.0f MiB, %d goroutines)",
		total, perNode, time.Since(start).Round(time.Millisecond), float64(withPods-withNodes)/float64(total)/1024, (g2-g1)/total,
		float64(withPods)/(1<<20), g2)
}
