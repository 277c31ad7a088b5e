package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// Options configure a Scheduler. The zero value is the default scheduler.
type Options struct {
	// SchedulerName is the spec.schedulerName of the pods this scheduler
	// places (default "default-scheduler").
	SchedulerName string
	// Profile selects the plugins (default DefaultProfile(LeastAllocated)).
	Profile *Profile
	// Plugins are extra plugins, registered next to package plugins'; a
	// name registered twice is an error.
	Plugins interfaces.Registry
	// BindWorkers bounds the bindings and status updates in flight
	// (default 32).
	BindWorkers int
	// FlushInterval re-tries parked unschedulable pods even without a
	// cluster change, as a safety net (default 5 minutes, like Kubernetes'
	// podMaxInUnschedulablePodsDuration).
	FlushInterval time.Duration
	// Logf receives the scheduler's log lines (default: discarded).
	Logf func(format string, args ...any)
}

// Scheduler is the reference scheduler, a running interfaces.Component.
type Scheduler struct {
	cfg  *rest.Config
	opts Options
	fw   *Framework
	// workloads feeds PodTopologySpread's system default constraints when
	// the profile gives the plugin no Args of its own (nil otherwise).
	workloads *workloadSelectors
}

var _ interfaces.Component = (*Scheduler)(nil)

// New builds a scheduler for the cluster cfg reaches. It does not dial.
func New(cfg *rest.Config, opts Options) (*Scheduler, error) {
	if cfg == nil {
		return nil, errors.New("scheduler: a rest.Config is required")
	}
	if opts.SchedulerName == "" {
		opts.SchedulerName = corev1.DefaultSchedulerName
	}
	if opts.BindWorkers <= 0 {
		opts.BindWorkers = 32
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Minute
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	profile := DefaultProfile(interfaces.LeastAllocated)
	if opts.Profile != nil {
		profile = *opts.Profile
	}
	var workloads *workloadSelectors
	if _, set := profile.Args[plugins.PodTopologySpreadName]; !set {
		// As kube-scheduler's default (defaultingType System).
		workloads = &workloadSelectors{}
		args := make(map[string]any, len(profile.Args)+1)
		for k, v := range profile.Args {
			args[k] = v
		}
		args[plugins.PodTopologySpreadName] = plugins.SpreadArgs{SystemDefaults: true, Selectors: workloads}
		profile.Args = args
	}
	reg := plugins.Registry()
	if err := reg.Merge(opts.Plugins); err != nil {
		return nil, fmt.Errorf("scheduler: registering plugins: %w", err)
	}
	fw, err := NewFramework(reg, profile)
	if err != nil {
		return nil, err
	}
	c := rest.CopyConfig(cfg)
	if c.QPS == 0 {
		c.QPS, c.Burst = 500, 1000
	}
	return &Scheduler{cfg: c, opts: opts, fw: fw, workloads: workloads}, nil
}

// Name implements interfaces.Component.
func (s *Scheduler) Name() string { return "scheduler/" + s.opts.SchedulerName }

// Framework returns the scheduler's placement function.
func (s *Scheduler) Framework() *Framework { return s.fw }

// run is the state of one Run.
type run struct {
	s      *Scheduler
	client kubernetes.Interface
	cache  *nodeCache
	queue  *queue
	sem    chan struct{}
	wg     sync.WaitGroup
	stop   <-chan struct{}
	// recorder writes the scheduler's Events (Scheduled, FailedScheduling,
	// Preempted).
	recorder events.EventRecorder
	// pdbLister reads the PodDisruptionBudgets preemption respects.
	pdbLister policylisters.PodDisruptionBudgetLister
}

// Run schedules until ctx is done: it lists and watches nodes and pods,
// places each pending pod of its schedulerName and binds it; pods that fit
// nowhere get PodScheduled=False (Unschedulable) and wait for a node to be
// added or changed, or a pod to go.
func (s *Scheduler) Run(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(s.cfg)
	if err != nil {
		return fmt.Errorf("scheduler: building the client: %w", err)
	}
	recorder, stopEvents := eventRecorder(ctx, client, s.opts.SchedulerName)
	defer stopEvents()
	r := &run{s: s, client: client, cache: newNodeCache(), queue: newQueue(),
		sem: make(chan struct{}, s.opts.BindWorkers), stop: ctx.Done(), recorder: recorder}
	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := factory.Core().V1().Nodes().Informer()
	pods := factory.Core().V1().Pods().Informer()
	// The Namespaces back the plugins' namespaceSelectors (inter-pod affinity).
	namespaces := factory.Core().V1().Namespaces()
	nsInformer := namespaces.Informer()
	s.fw.UseNamespaces(NamespaceListerOf(namespaces.Lister()))
	pdbs := factory.Policy().V1().PodDisruptionBudgets()
	pdbInformer := pdbs.Informer()
	r.pdbLister = pdbs.Lister()
	if _, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.nodeAdded,
		UpdateFunc: r.nodeUpdated,
		DeleteFunc: r.nodeDeleted,
	}); err != nil {
		return err
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.podChanged(nil, obj) },
		UpdateFunc: r.podChanged,
		DeleteFunc: r.podDeleted,
	}); err != nil {
		return err
	}
	synced := []cache.InformerSynced{nodes.HasSynced, pods.HasSynced, pdbInformer.HasSynced, nsInformer.HasSynced}
	if s.workloads != nil {
		synced = append(synced, s.workloads.watch(factory)...)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil // stopped before the caches synced
	}
	s.opts.Logf("scheduler %s: caches synced", s.opts.SchedulerName)
	go func() {
		<-ctx.Done()
		r.queue.close()
	}()
	go func() {
		t := time.NewTicker(s.opts.FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.queue.moveAll()
			}
		}
	}()
	for {
		pod, moves, ok := r.queue.pop()
		if !ok {
			break
		}
		r.scheduleOne(ctx, pod, moves)
	}
	r.wg.Wait()
	return nil
}

// scheduleOne places one pod and starts its binding. A pod that fits
// nowhere may preempt lower-priority pods (preempt.go): it is nominated to a
// node, the victims are deleted, and it is retried when they are gone.
func (r *run) scheduleOne(ctx context.Context, pod *corev1.Pod, moves stamp) {
	r.cache.mu.Lock()
	snap := r.cache.snapshotFor(pod)
	nominated := r.nominatedOf(pod)
	node := ""
	if nominated != "" {
		// Like kube-scheduler, try the nominated node first.
		if ok, ferr := r.s.fw.Fits(ctx, pod, snap, nominated); ok {
			node = nominated
		} else if ferr != nil {
			r.s.opts.Logf("scheduler: %v", ferr)
		}
	}
	var (
		err        error
		resolvable []bool
	)
	if node == "" {
		node, resolvable, err = r.s.fw.place(ctx, pod, snap)
	}
	var (
		cand       Candidate
		preempting bool
		clear      bool
		perr       error
		fit        *interfaces.FitError
	)
	if err == nil {
		r.cache.assume(pod, node)
	} else if !errors.As(err, &fit) || fit.NumAllNodes == 0 || r.s.fw.preempt.Disabled {
		// Not a fit error, no nodes, or no preemption: nothing to add.
	} else if !mayPreempt(pod) {
		fit.PostFilterMsg = msgPolicyNever
	} else if r.waitingForVictims(pod, nominated) {
		fit.PostFilterMsg = msgTerminating
	} else {
		cand, preempting, perr = r.s.fw.preemptAmong(ctx, pod, r.preemptionNodes(snap), resolvable, r.pdbs())
		fit.PostFilterMsg = cand.Message
		switch {
		case preempting:
			r.cache.nominate(pod, cand.Node)
		case perr == nil && nominated != "":
			// Preemption no longer helps: drop the nomination.
			r.cache.nominate(pod, "")
			clear = true
		}
	}
	r.cache.mu.Unlock()
	if perr != nil {
		r.s.opts.Logf("scheduler: %v", perr)
	}
	if err != nil {
		if fit != nil {
			r.queue.parkUnschedulable(pod, moves, r.s.fw.RetriesOnPodChange(fit))
			msg := fit.Error()
			if preempting {
				r.async(func() { r.actuate(ctx, pod, cand, msg) })
				return
			}
			var nom *string
			if clear {
				nom = new(string)
			}
			r.async(func() {
				r.recordFailedScheduling(pod, msg)
				r.markUnschedulable(ctx, pod, msg, nom)
			})
			return
		}
		r.s.opts.Logf("scheduler: %v", err)
		r.recordFailedScheduling(pod, err.Error())
		r.queue.parkUnschedulable(pod, moves, false)
		return
	}
	r.queue.bindingStarted(pod)
	r.async(func() { r.bind(ctx, pod, node) })
}

// async runs f on a bind worker.
func (r *run) async(f func()) {
	select {
	case r.sem <- struct{}{}:
	case <-r.stop:
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.sem }()
		f()
	}()
}

// bind records the decision through pods/binding. On failure the assumed
// pod is forgotten and retried after a second (unless it is gone).
func (r *run) bind(ctx context.Context, pod *corev1.Pod, node string) {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := r.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if err == nil {
		r.recordScheduled(pod, node)
		return
	}
	r.cache.forget(pod)
	if ctx.Err() != nil || apierrors.IsNotFound(err) {
		r.queue.remove(pod)
		return
	}
	r.s.opts.Logf("scheduler: binding %s/%s to %s: %v", pod.Namespace, pod.Name, node, err)
	if apierrors.IsConflict(err) {
		// Already bound (by us, earlier, or by someone else): the informer
		// brings the pod's node.
		return
	}
	// Refused (an admission plugin, a policy, a webhook): as kube-scheduler's failure handler,
	// say so in a FailedScheduling Event and the PodScheduled condition (reason SchedulerError),
	// let the pods parked while this one held its node's resources try again, and retry it.
	msg := fmt.Sprintf("running Bind plugin %q: %v", "DefaultBinder", err)
	r.recordFailedScheduling(pod, msg)
	r.markNotScheduled(ctx, pod, corev1.PodReasonSchedulerError, msg, nil)
	r.queue.moveAll()
	after(time.Second, r.stop, func() { r.queue.bindingFailed(pod) })
}

// markUnschedulable sets PodScheduled=False, reason Unschedulable, with the
// FitError's message, unless it already says so; when nominated is not nil
// it also sets status.nominatedNodeName to it ("" clears it).
func (r *run) markUnschedulable(ctx context.Context, pod *corev1.Pod, message string, nominated *string) {
	r.markNotScheduled(ctx, pod, corev1.PodReasonUnschedulable, message, nominated)
}

// markNotScheduled sets PodScheduled=False with reason and message, unless it already says
// so; when nominated is not nil it also sets status.nominatedNodeName to it ("" clears it).
func (r *run) markNotScheduled(ctx context.Context, pod *corev1.Pod, reason, message string, nominated *string) {
	pods := r.client.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID || cur.Spec.NodeName != "" {
			return nil
		}
		nominate := nominated != nil && cur.Status.NominatedNodeName != *nominated
		if nominate {
			cur.Status.NominatedNodeName = *nominated
		}
		cond := corev1.PodCondition{
			Type:               corev1.PodScheduled,
			Status:             corev1.ConditionFalse,
			Reason:             reason,
			Message:            message,
			LastTransitionTime: metav1.Now(),
		}
		found := false
		for i := range cur.Status.Conditions {
			c := &cur.Status.Conditions[i]
			if c.Type != corev1.PodScheduled {
				continue
			}
			found = true
			if c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message && !nominate {
				return nil
			}
			if c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			*c = cond
		}
		if !found {
			cur.Status.Conditions = append(cur.Status.Conditions, cond)
		}
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		r.s.opts.Logf("scheduler: updating the PodScheduled condition of %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

func (r *run) nodeAdded(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	r.cache.mu.Lock()
	r.cache.setNode(node)
	r.cache.mu.Unlock()
	r.queue.moveAll()
}

func (r *run) nodeUpdated(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Node)
	node, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	r.cache.mu.Lock()
	r.cache.setNode(node)
	r.cache.mu.Unlock()
	if nodeChangeMatters(old, node) {
		r.queue.moveAll()
	}
}

// nodeChangeMatters reports whether a node update can make a pod fit:
// allocatable, labels, taints or cordon changed.
func nodeChangeMatters(old, node *corev1.Node) bool {
	return old.Spec.Unschedulable != node.Spec.Unschedulable ||
		!equality.Semantic.DeepEqual(old.Labels, node.Labels) ||
		!equality.Semantic.DeepEqual(old.Spec.Taints, node.Spec.Taints) ||
		!equality.Semantic.DeepEqual(old.Status.Allocatable, node.Status.Allocatable)
}

func (r *run) nodeDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	r.cache.mu.Lock()
	r.cache.removeNode(node.Name)
	r.cache.mu.Unlock()
}

// finished reports whether a pod no longer holds resources.
func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (r *run) podChanged(_, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	switch {
	case pod.Spec.NodeName != "":
		r.queue.remove(pod)
		if finished(pod) {
			if r.cache.removePod(pod.UID) {
				r.queue.moveAll()
			}
			return
		}
		if r.cache.addBound(pod) {
			r.queue.movePodWaiters()
		}
	case pod.Spec.SchedulerName != r.s.opts.SchedulerName, pod.DeletionTimestamp != nil, finished(pod):
		r.queue.remove(pod)
	default:
		if pod.Status.NominatedNodeName != "" {
			// A nomination seen in the API (ours from before a restart, or
			// another scheduler's) counts like our own.
			r.cache.mu.Lock()
			if r.cache.nominatedNode(pod) == "" {
				r.cache.nominate(pod, pod.Status.NominatedNodeName)
			}
			r.cache.mu.Unlock()
		}
		r.queue.add(pod)
	}
}

func (r *run) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.queue.remove(pod)
	if r.cache.removePod(pod.UID) {
		r.queue.moveAll()
	}
}
