package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/pager"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// The benchmarks measure the API server through client-go over loopback HTTP, over the memory
// store and over embedded etcd with fsync off (UnsafeNoFsync) and on (as clusterkit up). Run with
//
//	go test -run '^$' -bench . -benchtime 2000x -timeout 60m ./reference/apiserver
//
// Each backend gets one server holding benchPods pods in namespace "bench" before the
// sub-benchmarks start. Latency percentiles are over the b.N operations of the final run.

const (
	benchPods     = 10000 // pods listed and read
	benchPage     = 500   // list page size
	benchWatchers = 100   // watchers of the fan-out benchmark
	benchParallel = 4     // RunParallel goroutines per CPU for create and get
)

// benchBackend opens one store for a benchmark.
type benchBackend struct {
	name string
	open func(b *testing.B) interfaces.Store
}

func benchBackends() []benchBackend {
	return []benchBackend{
		{name: "memory", open: func(b *testing.B) interfaces.Store {
			s := memory.New()
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{name: "etcd-nofsync", open: func(b *testing.B) interfaces.Store { return openBenchEtcd(b, true) }},
		// What `clusterkit up` runs: every write fsynced before it is acknowledged.
		{name: "etcd-fsync", open: func(b *testing.B) interfaces.Store { return openBenchEtcd(b, false) }},
	}
}

func openBenchEtcd(b *testing.B, noFsync bool) interfaces.Store {
	s, err := etcdstore.Open(context.Background(), etcdstore.Config{
		DataDir: filepath.Join(b.TempDir(), "etcd"), UnsafeNoFsync: noFsync,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// benchFixture is one served API server with benchPods pods.
type benchFixture struct {
	store  interfaces.Store
	config *rest.Config
	client kubernetes.Interface
}

func newBenchFixture(b *testing.B, be benchBackend) *benchFixture {
	b.Helper()
	store := be.open(b)
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Bootstrap(context.Background()); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		_ = srv.Close()
	})
	// QPS -1: no client-side rate limit.
	cfg := &rest.Config{Host: ts.URL, QPS: -1}
	fx := &benchFixture{store: store, config: cfg, client: kubernetes.NewForConfigOrDie(cfg)}
	ctx := context.Background()
	for _, ns := range []string{"bench", "bench-create", "bench-watch", "bench-fanout", "bench-overhead"} {
		if _, err := fx.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= benchPods {
					return
				}
				if _, err := fx.client.CoreV1().Pods("bench").Create(ctx, benchPod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("populating: %v", err)
	}
	b.Logf("%s: %d pods created through the API in %s (8 clients)", be.name, benchPods, time.Since(start).Round(time.Millisecond))
	return fx
}

func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench", "tier": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example/app:1.0",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

// latencies collects per-operation durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d ...time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

// percentile returns the q-quantile (0 < q <= 1) by the nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// report adds p50-ms, p99-ms and ops/s (over wall time) to b's results.
func (l *latencies) report(b *testing.B, wall time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	b.ReportMetric(float64(percentile(l.d, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(l.d, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(l.d))/wall.Seconds(), "ops/s")
}

// BenchmarkAPIServer measures create, get, list and watch through client-go, watch fan-out to
// 100 watchers, and the overhead of the API server over its raw store.
func BenchmarkAPIServer(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			fx := newBenchFixture(b, be)
			b.Run("create", fx.benchCreate)
			b.Run("get", fx.benchGet)
			b.Run("update-status", fx.benchUpdateStatus)
			b.Run(fmt.Sprintf("list-%d-paged-%d", benchPods, benchPage), fx.benchList)
			b.Run("watch-delivery", fx.benchWatch)
			b.Run(fmt.Sprintf("watch-fanout-%d", benchWatchers), fx.benchFanout)
			b.Run("overhead-vs-store", fx.benchOverhead)
		})
	}
}

// benchCreate: pod creates from benchParallel*GOMAXPROCS concurrent clients.
func (fx *benchFixture) benchCreate(b *testing.B) {
	ctx := context.Background()
	var lat latencies
	var seq atomic.Int64
	run := time.Now().UnixNano()
	b.SetParallelism(benchParallel)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			name := fmt.Sprintf("c-%d-%d", run, seq.Add(1))
			t0 := time.Now()
			if _, err := fx.client.CoreV1().Pods("bench-create").Create(ctx, benchPod(name), metav1.CreateOptions{}); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		lat.add(mine...)
	})
	lat.report(b, time.Since(start))
}

// benchGet: reads of random pods among benchPods from concurrent clients.
func (fx *benchFixture) benchGet(b *testing.B) {
	ctx := context.Background()
	var lat latencies
	var seq atomic.Int64
	b.SetParallelism(benchParallel)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			// A stride co-prime to benchPods walks every pod in a scattered order.
			i := (seq.Add(1) * 7919) % benchPods
			t0 := time.Now()
			if _, err := fx.client.CoreV1().Pods("bench").Get(ctx, fmt.Sprintf("pod-%05d", i), metav1.GetOptions{}); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		lat.add(mine...)
	})
	lat.report(b, time.Since(start))
}

// benchUpdateStatus: status updates of pods among benchPods from concurrent clients, each
// client on pods of its own (a kubelet's writes, lease renewals: read-modify-write of an object
// nobody else changes), from the copy its last write returned.
func (fx *benchFixture) benchUpdateStatus(b *testing.B) {
	ctx := context.Background()
	// The pods are listed and watched, as in a cluster (informers): the resource's watch cache runs.
	if _, err := fx.client.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		b.Fatal(err)
	}
	w, err := fx.client.CoreV1().Pods("bench").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	go func() {
		for range w.ResultChan() {
		}
	}()
	var lat latencies
	var clients atomic.Int64
	b.SetParallelism(benchParallel)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		// Client c writes pods c, c+stride, …: disjoint sets, no conflicts between clients.
		const stride = 64
		c := clients.Add(1) - 1
		mine := map[int64]*corev1.Pod{}
		var ds []time.Duration
		for n := int64(0); pb.Next(); n++ {
			i := (c + stride*n) % benchPods
			p := mine[i]
			if p == nil {
				var err error
				if p, err = fx.client.CoreV1().Pods("bench").Get(ctx, fmt.Sprintf("pod-%05d", i), metav1.GetOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
			p.Status.Message = fmt.Sprintf("update %d", n)
			t0 := time.Now()
			out, err := fx.client.CoreV1().Pods("bench").UpdateStatus(ctx, p, metav1.UpdateOptions{})
			if err != nil {
				b.Error(err)
				return
			}
			ds = append(ds, time.Since(t0))
			mine[i] = out
		}
		lat.add(ds...)
	})
	lat.report(b, time.Since(start))
}

// benchList: one op is a full list of the benchPods pods in pages of benchPage (client-go's
// pager, as informers do); latency is per full list.
func (fx *benchFixture) benchList(b *testing.B) {
	ctx := context.Background()
	var lat latencies
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return fx.client.CoreV1().Pods("bench").List(ctx, opts)
	})
	p.PageSize = benchPage
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		n := 0
		err := p.EachListItem(ctx, metav1.ListOptions{}, func(runtime.Object) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(t0))
		if n != benchPods {
			b.Fatalf("listed %d pods, want %d", n, benchPods)
		}
	}
	wall := time.Since(start)
	lat.report(b, wall)
	b.ReportMetric(float64(b.N*benchPods)/wall.Seconds(), "pods/s")
}

// benchWatch: one watcher on a namespace; each op updates a pod there and waits for the event.
// Latency is from the start of the update to the event's arrival at the watcher.
func (fx *benchFixture) benchWatch(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pods := fx.client.CoreV1().Pods("bench-watch")
	pod, err := pods.Create(ctx, benchPod(fmt.Sprintf("watched-%d", time.Now().UnixNano())), metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: pod.ResourceVersion})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var lat latencies
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		pod.Labels["seq"] = fmt.Sprint(i)
		t0 := time.Now()
		if pod, err = pods.Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		awaitEvent(b, w, pod.ResourceVersion)
		lat.add(time.Since(t0))
	}
	lat.report(b, time.Since(start))
}

// awaitEvent reads w until an event carries resourceVersion rv.
func awaitEvent(b *testing.B, w watch.Interface, rv string) {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("watch closed")
			}
			if m, ok := ev.Object.(metav1.Object); ok && m.GetResourceVersion() == rv {
				return
			}
		case <-timeout:
			b.Fatalf("no event for resourceVersion %s within 30s", rv)
		}
	}
}

// benchFanout: benchWatchers watchers on one namespace; each op creates a pod there and waits
// until every watcher has its ADDED event. Latency is from the start of the create to the
// arrival at the last watcher.
func (fx *benchFixture) benchFanout(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Over HTTP/1.1 every watch holds its own connection.
	pods := fx.client.CoreV1().Pods("bench-fanout")
	list, err := pods.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	type arrival struct {
		name string
		at   time.Time
	}
	arrivals := make(chan arrival, benchWatchers*4)
	var wg sync.WaitGroup
	for range benchWatchers {
		w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Stop()
			for {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					if ev.Type != watch.Added {
						continue
					}
					if m, ok := ev.Object.(metav1.Object); ok {
						arrivals <- arrival{name: m.GetName(), at: time.Now()}
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	defer wg.Wait()
	defer cancel()
	var lat latencies
	run := time.Now().UnixNano()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		name := fmt.Sprintf("f-%d-%d", run, i)
		t0 := time.Now()
		if _, err := pods.Create(ctx, benchPod(name), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		timeout := time.After(30 * time.Second)
		for got := 0; got < benchWatchers; {
			select {
			case a := <-arrivals:
				if a.name != name {
					b.Fatalf("watcher got %s while waiting for %s", a.name, name)
				}
				if a.at.After(last) {
					last = a.at
				}
				got++
			case <-timeout:
				b.Fatalf("%s reached only %d of %d watchers within 30s", name, got, benchWatchers)
			}
		}
		lat.add(last.Sub(t0))
	}
	lat.report(b, time.Since(start))
	b.ReportMetric(float64(b.N*benchWatchers)/time.Since(start).Seconds(), "events/s")
}

// benchOverhead: the same create and get, sequentially, through client-go and the API server
// and straight on the store (interfaces.Store Create/Get of the pod's stored JSON), interleaved
// in one run. Reports the mean per-op time of each path and their ratios.
func (fx *benchFixture) benchOverhead(b *testing.B) {
	ctx := context.Background()
	pods := fx.client.CoreV1().Pods("bench-overhead")
	run := time.Now().UnixNano()
	var apiCreate, apiGet, rawCreate, rawGet time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("o-%d-%d", run, i)
		t0 := time.Now()
		created, err := pods.Create(ctx, benchPod(name), metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		apiCreate += time.Since(t0)

		t0 = time.Now()
		if _, err := pods.Get(ctx, name, metav1.GetOptions{}); err != nil {
			b.Fatal(err)
		}
		apiGet += time.Since(t0)

		// The bytes the server stored for this pod, written again under another key.
		created.ResourceVersion = ""
		created.APIVersion, created.Kind = "v1", "Pod"
		value, err := json.Marshal(created)
		if err != nil {
			b.Fatal(err)
		}
		key := fmt.Sprintf("/bench-raw/pods/%d/%d", run, i)
		t0 = time.Now()
		if _, err := fx.store.Create(ctx, key, value); err != nil {
			b.Fatal(err)
		}
		rawCreate += time.Since(t0)

		t0 = time.Now()
		if _, err := fx.store.Get(ctx, key); err != nil {
			b.Fatal(err)
		}
		rawGet += time.Since(t0)
	}
	n := float64(b.N)
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
	b.ReportMetric(us(apiCreate), "api-create-us")
	b.ReportMetric(us(rawCreate), "store-create-us")
	b.ReportMetric(float64(apiCreate)/float64(rawCreate), "create-ratio")
	b.ReportMetric(us(apiGet), "api-get-us")
	b.ReportMetric(us(rawGet), "store-get-us")
	b.ReportMetric(float64(apiGet)/float64(rawGet), "get-ratio")
}
