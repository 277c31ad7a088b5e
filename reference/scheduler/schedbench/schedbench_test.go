package schedbench_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/schedbench"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

func startReference(_ context.Context, cfg *rest.Config, name string) (func(), error) {
	s, err := scheduler.New(cfg, scheduler.Options{SchedulerName: name})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	return func() { cancel(); <-done }, nil
}

func server(t testing.TB) *rest.Config {
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store, Admission: admission.NewChainHandler(priority.New())})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); _ = store.Close() })
	return &rest.Config{Host: ts.URL, QPS: -1}
}

// TestSmallWorkload keeps the harness honest in the default test run.
func TestSmallWorkload(t *testing.T) {
	r, err := schedbench.Run(t.Context(), server(t), schedbench.Workload{Nodes: 20, Pods: 200, Timeout: time.Minute}, startReference)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pods != 200 || r.PodsPerSecond <= 0 || r.P99 <= 0 {
		t.Fatalf("implausible result %+v", r)
	}
	t.Log(r)
}

// BenchmarkReferenceScheduler: go test -bench ReferenceScheduler -benchtime 1x ./reference/scheduler/schedbench/
func BenchmarkReferenceScheduler(b *testing.B) {
	for _, nodes := range benchNodes() {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			for range b.N {
				r, err := schedbench.Run(context.Background(), server(b), schedbench.Workload{Nodes: nodes, Pods: 10000}, startReference)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.PodsPerSecond, "pods/s")
				b.ReportMetric(float64(r.P99.Milliseconds()), "p99-ms")
				b.Log(r)
			}
		})
	}
}

// benchNodes is CK_SCHED_BENCH_NODES (comma-separated) or 100,1000,5000.
func benchNodes() []int {
	v := os.Getenv("CK_SCHED_BENCH_NODES")
	if v == "" {
		return []int{100, 1000, 5000}
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// TestShapesSmall runs every scheduler_perf shape at 10 nodes with the
// reference scheduler.
func TestShapesSmall(t *testing.T) {
	for _, shape := range schedbench.Shapes() {
		t.Run(string(shape), func(t *testing.T) {
			initPods, pods := schedbench.Params(shape, 10)
			r, err := schedbench.Run(t.Context(), server(t), schedbench.Workload{Shape: shape, Nodes: 10, InitPods: initPods, Pods: pods, Timeout: time.Minute}, startReference)
			if err != nil {
				t.Fatal(err)
			}
			if r.Pods != pods {
				t.Fatalf("implausible result %+v", r)
			}
			t.Log(r)
		})
	}
}

// BenchmarkReferenceShapes runs scheduler_perf's shapes (CK_SCHED_BENCH_SHAPES, default all) at
// CK_SCHED_BENCH_NODES (default 500) nodes on the reference scheduler alone, e.g. to profile it:
// go test -run '^$' -bench ReferenceShapes -benchtime 1x -cpuprofile cpu.out ./reference/scheduler/schedbench/
func BenchmarkReferenceShapes(b *testing.B) {
	shapes := schedbench.Shapes()
	if v := os.Getenv("CK_SCHED_BENCH_SHAPES"); v != "" {
		shapes = nil
		for _, s := range strings.Split(v, ",") {
			shapes = append(shapes, schedbench.Shape(strings.TrimSpace(s)))
		}
	}
	nodes := []int{500}
	if os.Getenv("CK_SCHED_BENCH_NODES") != "" {
		nodes = benchNodes()
	}
	for _, shape := range shapes {
		for _, n := range nodes {
			initPods, pods := schedbench.Params(shape, n)
			b.Run(fmt.Sprintf("%s/nodes=%d", shape, n), func(b *testing.B) {
				for range b.N {
					r, err := schedbench.Run(context.Background(), server(b), schedbench.Workload{Shape: shape, Nodes: n, InitPods: initPods, Pods: pods}, startReference)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(r.PodsPerSecond, "pods/s")
					b.Log(r)
				}
			})
		}
	}
}
