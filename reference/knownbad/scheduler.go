package knownbad

import (
	"context"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// Known-bad schedulers. The first four are the reference scheduler with one
// check broken through its plugin profile; the last two are a naive
// scheduler of their own.

// fitBroken is NodeResourcesFit with a blind spot, registered under its own
// name.
type fitBroken struct {
	name   string
	fit    interfaces.FilterPlugin
	adjust func(*corev1.Pod, *interfaces.NodeInfo) (*corev1.Pod, *interfaces.NodeInfo)
}

func (f fitBroken) Name() string { return f.name }

func (f fitBroken) Filter(ctx context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	pod, node = f.adjust(pod, node)
	return f.fit.Filter(ctx, pod, node)
}

// brokenReference builds the reference scheduler whose filter list has
// replace swapped for broken (nil drops it).
func brokenReference(cfg *rest.Config, name, replace string, broken *fitBroken) (interfaces.Component, error) {
	p := scheduler.DefaultProfile(interfaces.LeastAllocated)
	reg := interfaces.Registry{}
	filters := []string{}
	for _, f := range p.Filters {
		switch {
		case f != replace:
			filters = append(filters, f)
		case broken != nil:
			filters = append(filters, broken.name)
			b := *broken
			if err := reg.Register(b.name, func(interfaces.Handle) (interfaces.Plugin, error) {
				fit, err := plugins.NewFit(nil)
				if err != nil {
					return nil, err
				}
				b.fit = fit.(interfaces.FilterPlugin)
				return b, nil
			}); err != nil {
				return nil, err
			}
		}
	}
	p.Filters = filters
	return scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p, Plugins: reg})
}

// SchedulerIgnoringMemory checks cpu and pods but not memory.
func SchedulerIgnoringMemory(cfg *rest.Config, name string) (interfaces.Component, error) {
	return brokenReference(cfg, name, plugins.NodeResourcesFitName, &fitBroken{name: "FitIgnoringMemory",
		adjust: func(pod *corev1.Pod, n *interfaces.NodeInfo) (*corev1.Pod, *interfaces.NodeInfo) {
			p := pod.DeepCopy()
			for i := range p.Spec.Containers {
				delete(p.Spec.Containers[i].Resources.Requests, corev1.ResourceMemory)
			}
			return p, n
		}})
}

// SchedulerIgnoringBoundPods compares requests with allocatable as if no pod
// were bound to the node.
func SchedulerIgnoringBoundPods(cfg *rest.Config, name string) (interfaces.Component, error) {
	return brokenReference(cfg, name, plugins.NodeResourcesFitName, &fitBroken{name: "FitIgnoringBoundPods",
		adjust: func(pod *corev1.Pod, n *interfaces.NodeInfo) (*corev1.Pod, *interfaces.NodeInfo) {
			return pod, &interfaces.NodeInfo{Node: n.Node, Requested: corev1.ResourceList{}}
		}})
}

// SchedulerIgnoringTaints has no TaintToleration filter.
func SchedulerIgnoringTaints(cfg *rest.Config, name string) (interfaces.Component, error) {
	return brokenReference(cfg, name, plugins.TaintTolerationName, nil)
}

// SchedulerIgnoringNodeSelector has no NodeAffinity filter.
func SchedulerIgnoringNodeSelector(cfg *rest.Config, name string) (interfaces.Component, error) {
	return brokenReference(cfg, name, plugins.NodeAffinityName, nil)
}

// naiveScheduler places pods with the reference plugins but builds its
// snapshot from the informer alone: it does not count pods it has just
// placed until their binding comes back through the watch.
type naiveScheduler struct {
	cfg  *rest.Config
	name string
	// concurrent schedules every pod in its own goroutine (and so
	// double-books under a burst); otherwise pods are placed one by one,
	// remembering each placement.
	concurrent bool
	// anyName places pods of every schedulerName.
	anyName bool
	fw      *scheduler.Framework
}

// SchedulerDoubleBooking places each new pod at once in its own goroutine
// against the bound pods it has observed so far, so pods created together
// all see the same free room.
func SchedulerDoubleBooking(cfg *rest.Config, name string) (interfaces.Component, error) {
	return newNaive(cfg, name, true, false)
}

// SchedulerOfAnyName places every pending pod, whatever its
// spec.schedulerName.
func SchedulerOfAnyName(cfg *rest.Config, name string) (interfaces.Component, error) {
	return newNaive(cfg, name, false, true)
}

func newNaive(cfg *rest.Config, name string, concurrent, anyName bool) (*naiveScheduler, error) {
	fw, err := scheduler.NewFramework(plugins.Registry(), scheduler.DefaultProfile(interfaces.LeastAllocated))
	if err != nil {
		return nil, err
	}
	return &naiveScheduler{cfg: cfg, name: name, concurrent: concurrent, anyName: anyName, fw: fw}, nil
}

func (s *naiveScheduler) Name() string { return "knownbad-scheduler/" + s.name }

func (s *naiveScheduler) Run(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(s.cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := factory.Core().V1().Nodes().Informer()
	pods := factory.Core().V1().Pods().Informer()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.HasSynced, pods.HasSynced) {
		return nil
	}
	var (
		mu       sync.Mutex
		inFlight = map[types.UID]bool{}
		placed   = map[types.UID]*corev1.Pod{} // sequential mode's own placements
		wg       sync.WaitGroup
	)
	defer wg.Wait()
	snapshot := func() []*interfaces.NodeInfo {
		infos := map[string]*interfaces.NodeInfo{}
		var list []*interfaces.NodeInfo
		for _, o := range nodes.GetStore().List() {
			n := o.(*corev1.Node)
			info := &interfaces.NodeInfo{Node: n, Requested: corev1.ResourceList{}}
			infos[n.Name] = info
			list = append(list, info)
		}
		count := func(p *corev1.Pod) {
			if info, ok := infos[p.Spec.NodeName]; ok {
				plugins.CountPod(info, p)
			}
		}
		seen := map[types.UID]bool{}
		for _, o := range pods.GetStore().List() {
			p := o.(*corev1.Pod)
			if p.Spec.NodeName != "" {
				seen[p.UID] = true
				count(p)
			}
		}
		mu.Lock()
		for uid, p := range placed {
			if !seen[uid] {
				count(p)
			}
		}
		mu.Unlock()
		slices.SortFunc(list, func(a, b *interfaces.NodeInfo) int {
			if a.Node.Name < b.Node.Name {
				return -1
			}
			return 1
		})
		return list
	}
	scheduleOne := func(p *corev1.Pod, view []*interfaces.NodeInfo) {
		defer func() {
			mu.Lock()
			delete(inFlight, p.UID)
			mu.Unlock()
		}()
		node, err := s.fw.Place(ctx, p, view)
		if err != nil {
			return // retried on the next tick
		}
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
		if err := client.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err == nil && !s.concurrent {
			q := p.DeepCopy()
			q.Spec.NodeName = node
			mu.Lock()
			placed[p.UID] = q
			mu.Unlock()
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// The concurrent mode waits until the pending pods stop growing (a burst has arrived) and
	// then places them all against one view of the nodes, so that the double booking shows
	// however slowly a loaded machine delivers the burst.
	lastPending, stable := -1, 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if s.concurrent {
			pending := 0
			for _, o := range pods.GetStore().List() {
				p := o.(*corev1.Pod)
				if p.Spec.NodeName == "" && p.DeletionTimestamp == nil && (s.anyName || p.Spec.SchedulerName == s.name) {
					pending++
				}
			}
			if pending != lastPending {
				lastPending, stable = pending, 0
				continue
			}
			if stable++; stable < 10 {
				continue
			}
		}
		var view []*interfaces.NodeInfo
		if s.concurrent {
			view = snapshot()
		}
		for _, o := range pods.GetStore().List() {
			p := o.(*corev1.Pod)
			if p.Spec.NodeName != "" || p.DeletionTimestamp != nil || (!s.anyName && p.Spec.SchedulerName != s.name) {
				continue
			}
			mu.Lock()
			busy := inFlight[p.UID] || placed[p.UID] != nil
			if !busy {
				inFlight[p.UID] = true
			}
			mu.Unlock()
			if busy {
				continue
			}
			if s.concurrent {
				wg.Add(1)
				go func() {
					defer wg.Done()
					scheduleOne(p, view)
				}()
			} else {
				scheduleOne(p, snapshot())
			}
		}
	}
}
