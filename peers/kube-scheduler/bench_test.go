package kubescheduler_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/schedbench"
	"github.com/clusterkit/clusterkit/reference/store/memory"

	kubescheduler "github.com/clusterkit/clusterkit/peers/kube-scheduler"
)

func benchServer(tb testing.TB) *rest.Config {
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store, Admission: admission.NewChainHandler(priority.New())})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(kubescheduler.Missing(srv.Handler()))
	tb.Cleanup(func() { ts.Close(); _ = store.Close() })
	return &rest.Config{Host: ts.URL, QPS: -1}
}

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

func startKube(ctx context.Context, cfg *rest.Config, name string) (func(), error) {
	return kubescheduler.Start(ctx, cfg, kubescheduler.Options{SchedulerName: name, Scoring: interfaces.LeastAllocated})
}

// BenchmarkSchedulers runs the same workload (N Node objects, 10,000 pods of
// 100m/128Mi, fresh clusterkit API server on a memory store) against the
// reference scheduler and the real kube-scheduler, and prints the ratio.
//
//	scripts/test-peers.sh -bench        (or, in peers/kube-scheduler:)
//	go test -run '^$' -bench Schedulers -benchtime 1x -timeout 60m .
//
// CK_SCHED_BENCH_NODES (default "100,1000,5000") and CK_SCHED_BENCH_PODS
// (default 10000) change the workload.
func BenchmarkSchedulers(b *testing.B) {
	nodes := []int{100, 1000, 5000}
	if v := os.Getenv("CK_SCHED_BENCH_NODES"); v != "" {
		nodes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				b.Fatal(err)
			}
			nodes = append(nodes, n)
		}
	}
	pods := 10000
	if v := os.Getenv("CK_SCHED_BENCH_PODS"); v != "" {
		var err error
		if pods, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	var table []string
	for _, n := range nodes {
		var ours, kube schedbench.Result
		for _, impl := range []struct {
			name  string
			start schedbench.StartFunc
			out   *schedbench.Result
		}{{"clusterkit", startReference, &ours}, {"kube-scheduler", startKube, &kube}} {
			b.Run(fmt.Sprintf("%s/nodes=%d", impl.name, n), func(b *testing.B) {
				for range b.N {
					r, err := schedbench.Run(context.Background(), benchServer(b), schedbench.Workload{Nodes: n, Pods: pods}, impl.start)
					if err != nil {
						b.Fatal(err)
					}
					*impl.out = r
					b.ReportMetric(r.PodsPerSecond, "pods/s")
					b.ReportMetric(float64(r.P99.Milliseconds()), "p99-ms")
				}
			})
		}
		if ours.Pods > 0 && kube.Pods > 0 {
			table = append(table, fmt.Sprintf("%5d nodes | clusterkit %7.1f pods/s p99 %7dms | kube-scheduler %7.1f pods/s p99 %7dms | throughput ratio %.2fx, p99 ratio %.2fx",
				n, ours.PodsPerSecond, ours.P99.Milliseconds(), kube.PodsPerSecond, kube.P99.Milliseconds(),
				ours.PodsPerSecond/kube.PodsPerSecond, float64(ours.P99)/float64(kube.P99)))
		}
	}
	fmt.Printf("\nscheduler benchmark, %d pods (ratio = clusterkit / kube-scheduler):\n%s\n", pods, strings.Join(table, "\n"))
}

// BenchmarkShapes runs kube-scheduler's scheduler_perf shapes (schedbench.Shapes:
// SchedulingBasic, SchedulingPodAntiAffinity, SchedulingPodAffinity, TopologySpreading,
// PreemptionBasic, with scheduler_perf's pod counts, schedbench.Params) against the reference
// scheduler and kube-scheduler, interleaved round by round, and prints the medians side by side:
//
//	go test -run '^$' -bench Shapes -benchtime 1x -timeout 90m .
//
// CK_SCHED_BENCH_NODES (default "500"), CK_SCHED_BENCH_SHAPES (comma-separated, default all)
// and CK_SCHED_BENCH_ROUNDS (default 3) change it.
func BenchmarkShapes(b *testing.B) {
	nodes := []int{500}
	if v := os.Getenv("CK_SCHED_BENCH_NODES"); v != "" {
		nodes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				b.Fatal(err)
			}
			nodes = append(nodes, n)
		}
	}
	shapes := schedbench.Shapes()
	if v := os.Getenv("CK_SCHED_BENCH_SHAPES"); v != "" {
		shapes = nil
		for _, s := range strings.Split(v, ",") {
			shapes = append(shapes, schedbench.Shape(strings.TrimSpace(s)))
		}
	}
	rounds := 3
	if v := os.Getenv("CK_SCHED_BENCH_ROUNDS"); v != "" {
		var err error
		if rounds, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	impls := []struct {
		name  string
		start schedbench.StartFunc
	}{{"clusterkit", startReference}, {"kube-scheduler", startKube}}
	var table []string
	for _, shape := range shapes {
		for _, n := range nodes {
			initPods, pods := schedbench.Params(shape, n)
			rates := make([][]float64, len(impls))
			p99s := make([][]float64, len(impls))
			for round := range rounds {
				for i, impl := range impls {
					b.Run(fmt.Sprintf("%s/%s/nodes=%d/round=%d", shape, impl.name, n, round), func(b *testing.B) {
						for range b.N {
							r, err := schedbench.Run(context.Background(), benchServer(b),
								schedbench.Workload{Shape: shape, Nodes: n, InitPods: initPods, Pods: pods}, impl.start)
							if err != nil {
								b.Fatal(err)
							}
							rates[i] = append(rates[i], r.PodsPerSecond)
							p99s[i] = append(p99s[i], float64(r.P99.Milliseconds()))
							b.ReportMetric(r.PodsPerSecond, "pods/s")
							b.Log(r)
						}
					})
				}
			}
			if len(rates[0]) > 0 && len(rates[1]) > 0 {
				ours, kube := medianOf(rates[0]), medianOf(rates[1])
				table = append(table, fmt.Sprintf("%-26s %5d nodes %5d+%5d pods | clusterkit %7.1f pods/s p99 %6.0fms | kube-scheduler %7.1f pods/s p99 %6.0fms | %.2fx",
					shape, n, initPods, pods, ours, medianOf(p99s[0]), kube, medianOf(p99s[1]), ours/kube))
			}
		}
	}
	fmt.Printf("\nscheduler_perf shapes, medians of %d interleaved rounds (ratio = clusterkit / kube-scheduler pods/s):\n%s\n", rounds, strings.Join(table, "\n"))
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
