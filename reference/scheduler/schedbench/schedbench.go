package schedbench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// StartFunc starts a scheduler placing pods of schedulerName against cfg.
type StartFunc func(ctx context.Context, cfg *rest.Config, schedulerName string) (stop func(), err error)

// Workload is what one run creates.
type Workload struct {
	Nodes int
	Pods  int
	// Creators is the number of concurrent pod creators (default 16).
	Creators int
	// Timeout bounds the run (default 10 minutes).
	Timeout time.Duration
}

// Result is one run's figures.
type Result struct {
	Nodes, Pods int
	// Elapsed is from the first pod's creation to the last pod's binding.
	Elapsed       time.Duration
	PodsPerSecond float64
	P50, P90, P99 time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%5d nodes %6d pods: %8.1f pods/s  p50 %-10s p90 %-10s p99 %-10s (%.1fs)",
		r.Nodes, r.Pods, r.PodsPerSecond, r.P50.Round(time.Millisecond), r.P90.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Elapsed.Seconds())
}

// Run runs the workload against a fresh, empty API server cfg reaches. It
// creates the nodes, starts the scheduler, waits for a warm-up pod to be
// placed (so cache sync is not measured), then measures.
func Run(ctx context.Context, cfg *rest.Config, w Workload, start StartFunc) (Result, error) {
	if w.Creators <= 0 {
		w.Creators = 16
	}
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	c := rest.CopyConfig(cfg)
	c.QPS = -1
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		return Result{}, err
	}
	const ns = "bench"
	name := "bench-scheduler"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return Result{}, fmt.Errorf("creating namespace: %w", err)
	}
	if err := parallel(ctx, w.Nodes, w.Creators, func(i int) error {
		_, err := client.CoreV1().Nodes().Create(ctx, benchNode(fmt.Sprintf("bench-node-%05d", i)), metav1.CreateOptions{})
		return err
	}); err != nil {
		return Result{}, fmt.Errorf("creating nodes: %w", err)
	}
	stop, err := start(ctx, cfg, name)
	if err != nil {
		return Result{}, fmt.Errorf("starting the scheduler: %w", err)
	}
	defer stop()

	// Observe bindings through one watch.
	var (
		mu      sync.Mutex
		created = make(map[string]time.Time, w.Pods+1)
		bound   = make(map[string]time.Time, w.Pods+1)
		allDone = make(chan struct{})
		target  = int64(w.Pods + 1)
		count   atomic.Int64
	)
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return Result{}, err
	}
	wi, err := client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return Result{}, err
	}
	defer wi.Stop()
	go func() {
		for ev := range wi.ResultChan() {
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Spec.NodeName == "" {
				continue
			}
			now := time.Now()
			mu.Lock()
			_, seen := bound[p.Name]
			if !seen {
				bound[p.Name] = now
			}
			mu.Unlock()
			if !seen && count.Add(1) == target {
				close(allDone)
				return
			}
		}
	}()
	create := func(podName string) error {
		mu.Lock()
		created[podName] = time.Now()
		mu.Unlock()
		_, err := client.CoreV1().Pods(ns).Create(ctx, benchPod(podName, name), metav1.CreateOptions{})
		return err
	}
	if err := create("warm-up"); err != nil {
		return Result{}, err
	}
	for {
		mu.Lock()
		_, ok := bound["warm-up"]
		mu.Unlock()
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("the warm-up pod was not placed: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	begin := time.Now()
	if err := parallel(ctx, w.Pods, w.Creators, func(i int) error { return create(fmt.Sprintf("pod-%05d", i)) }); err != nil {
		return Result{}, fmt.Errorf("creating pods: %w", err)
	}
	select {
	case <-allDone:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("only %d of %d pods were placed: %w", count.Load()-1, w.Pods, ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, w.Pods)
	var last time.Time
	for podName, b := range bound {
		if podName == "warm-up" {
			continue
		}
		lat = append(lat, b.Sub(created[podName]))
		if b.After(last) {
			last = b
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	elapsed := last.Sub(begin)
	return Result{Nodes: w.Nodes, Pods: w.Pods, Elapsed: elapsed, PodsPerSecond: float64(w.Pods) / elapsed.Seconds(),
		P50: pct(0.50), P90: pct(0.90), P99: pct(0.99)}, nil
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || first.Load() != nil {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return *e
	}
	return ctx.Err()
}

func benchNode(name string) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res.DeepCopy(),
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

func benchPod(name, scheduler string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SchedulerName:                 scheduler,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}},
		},
	}
}
