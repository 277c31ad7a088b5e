package kubescheduler_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/schedbench"
	"github.com/clusterkit/clusterkit/reference/store/memory"

	kubescheduler "github.com/clusterkit/clusterkit/peers/kube-scheduler"
)

func benchServer(tb testing.TB) *rest.Config {
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store})
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
