package schedbench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// StartFunc starts a scheduler placing pods of schedulerName against cfg.
type StartFunc func(ctx context.Context, cfg *rest.Config, schedulerName string) (stop func(), err error)

// Shape names a workload of kube-scheduler's scheduler_perf suite
// (test/integration/scheduler_perf): the nodes and the pods it creates.
type Shape string

// The shapes. Basic is this package's original workload (nodes of 32 cpu /
// 128 GiB, pods of 100m / 128 MiB); the others follow scheduler_perf's
// templates (nodes of 4 cpu / 32 GiB / 110 pods, pods of 100m / 500 MiB).
const (
	// Basic: plain pods.
	Basic Shape = "SchedulingBasic"
	// PodAntiAffinity: every pod (label color=green) is required not to
	// share a hostname with another color=green pod.
	PodAntiAffinity Shape = "SchedulingPodAntiAffinity"
	// PodAffinity: every node is in zone1; every pod (color=blue) requires
	// a color=blue pod in its zone.
	PodAffinity Shape = "SchedulingPodAffinity"
	// TopologySpreading: nodes in zones moon-1..3; InitPods plain pods,
	// then pods (color=blue) spread over zones with maxSkew 5, DoNotSchedule.
	TopologySpreading Shape = "TopologySpreading"
	// PreemptionBasic: InitPods low-priority pods of 900m fill the nodes,
	// then pods of priority 10 and 3 cpu each preempt some of them.
	PreemptionBasic Shape = "PreemptionBasic"
)

// Shapes lists the shapes, Basic first.
func Shapes() []Shape {
	return []Shape{Basic, PodAntiAffinity, PodAffinity, TopologySpreading, PreemptionBasic}
}

// Workload is what one run creates.
type Workload struct {
	// Shape is the kind of nodes and pods (Basic when empty).
	Shape Shape
	Nodes int
	// InitPods are created and placed before the measured pods (as
	// scheduler_perf's initPods); they are not measured.
	InitPods int
	// Pods is the number of measured pods.
	Pods int
	// Creators is the number of concurrent pod creators (default 16).
	Creators int
	// Timeout bounds the run (default 10 minutes).
	Timeout time.Duration
}

// Result is one run's figures.
type Result struct {
	Shape       Shape
	Nodes, Pods int
	// Elapsed is from the first pod's creation to the last pod's binding.
	Elapsed       time.Duration
	PodsPerSecond float64
	P50, P90, P99 time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%-25s %5d nodes %6d pods: %8.1f pods/s  p50 %-10s p90 %-10s p99 %-10s (%.1fs)",
		r.Shape, r.Nodes, r.Pods, r.PodsPerSecond, r.P50.Round(time.Millisecond), r.P90.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Elapsed.Seconds())
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
	if w.Shape == "" {
		w.Shape = Basic
	}
	if err := parallel(ctx, w.Nodes, w.Creators, func(i int) error {
		_, err := client.CoreV1().Nodes().Create(ctx, w.Shape.node(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return Result{}, fmt.Errorf("creating nodes: %w", err)
	}
	if w.Shape == PreemptionBasic {
		for name, value := range map[string]int32{lowPriority: 0, highPriority: 10} {
			pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
			if _, err := client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return Result{}, fmt.Errorf("creating PriorityClass %s: %w", name, err)
			}
		}
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
		inits   atomic.Int64
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
			if seen {
				continue
			}
			if strings.HasPrefix(p.Name, "init-") {
				inits.Add(1)
				continue
			}
			if count.Add(1) == target {
				close(allDone)
				return
			}
		}
	}()
	create := func(pod *corev1.Pod) error {
		mu.Lock()
		created[pod.Name] = time.Now()
		mu.Unlock()
		_, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		return err
	}
	if err := create(benchPod("warm-up", name)); err != nil {
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
	if w.InitPods > 0 {
		if err := parallel(ctx, w.InitPods, w.Creators, func(i int) error { return create(w.Shape.initPod(fmt.Sprintf("init-%05d", i), name)) }); err != nil {
			return Result{}, fmt.Errorf("creating the initial pods: %w", err)
		}
		for inits.Load() < int64(w.InitPods) {
			select {
			case <-ctx.Done():
				return Result{}, fmt.Errorf("only %d of %d initial pods were placed: %w", inits.Load(), w.InitPods, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	begin := time.Now()
	if err := parallel(ctx, w.Pods, w.Creators, func(i int) error { return create(w.Shape.pod(fmt.Sprintf("pod-%05d", i), name)) }); err != nil {
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
	return Result{Shape: w.Shape, Nodes: w.Nodes, Pods: w.Pods, Elapsed: elapsed, PodsPerSecond: float64(w.Pods) / elapsed.Seconds(),
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
