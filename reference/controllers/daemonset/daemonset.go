package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/expectations"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's name).
const Name = "daemonset"

// Backoff of a node whose daemon pods keep failing: the first Failed pod is replaced at once,
// later ones after a delay doubling from FailedPodBackoff up to MaxFailedPodBackoff.
const (
	FailedPodBackoff    = time.Second
	MaxFailedPodBackoff = 15 * time.Minute
)

// New returns the factory of the DaemonSet controller.
func New() runner.Factory {
	return func(rc runner.Context) (interfaces.Controller, error) {
		dsInf := rc.Informers.Apps().V1().DaemonSets()
		podInf := rc.Informers.Core().V1().Pods()
		nodeInf := rc.Informers.Core().V1().Nodes()
		revInf := rc.Informers.Apps().V1().ControllerRevisions()
		c := &controller{
			rc: rc, client: rc.Client,
			dsLister: dsInf.Lister(), podLister: podInf.Lister(), nodeLister: nodeInf.Lister(), revLister: revInf.Lister(),
			exp: expectations.New(rc.Clock), backoff: map[string]backoffEntry{},
		}
		if _, err := dsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, n any) { c.enqueue(n) },
			DeleteFunc: func(obj any) {
				if k, ok := runner.Key(obj); ok {
					c.exp.Forget(k)
					rc.Queue.Add(k)
				}
			},
		}); err != nil {
			return nil, err
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.podAdded,
			UpdateFunc: c.podUpdated,
			DeleteFunc: c.podDeleted,
		}); err != nil {
			return nil, err
		}
		all := func(any) { c.enqueueAll() }
		if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: all, UpdateFunc: func(_, n any) { all(n) }, DeleteFunc: all,
		}); err != nil {
			return nil, err
		}
		if _, err := revInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: c.revChanged, UpdateFunc: func(_, n any) { c.revChanged(n) }, DeleteFunc: c.revChanged,
		}); err != nil {
			return nil, err
		}
		return c, nil
	}
}

type backoffEntry struct {
	delay time.Duration
	until time.Time
}

type controller struct {
	rc         runner.Context
	client     kubernetes.Interface
	dsLister   appslisters.DaemonSetLister
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	revLister  appslisters.ControllerRevisionLister
	exp        *expectations.Pods

	mu      sync.Mutex
	backoff map[string]backoffEntry // "<ds uid>/<node>" of failed pods replaced
}

func (c *controller) Name() string { return Name }

func (c *controller) enqueue(obj any) {
	if k, ok := runner.Key(obj); ok {
		c.rc.Queue.Add(k)
	}
}

func (c *controller) enqueueAll() {
	all, err := c.dsLister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range all {
		c.rc.Queue.Add(ds.Namespace + "/" + ds.Name)
	}
}

func (c *controller) revChanged(obj any) {
	if ref := runner.ControllerOf(obj); ref != nil && ref.Kind == dsKind.Kind {
		if r, ok := runner.Unwrap(obj).(*appsv1.ControllerRevision); ok {
			c.rc.Queue.Add(r.Namespace + "/" + ref.Name)
		}
	}
}

// ownerKey returns the key of the DaemonSet controlling pod, if it exists with the referenced
// uid.
func (c *controller) ownerKey(pod *corev1.Pod) (string, bool) {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != dsKind.Kind || ref.APIVersion != dsKind.GroupVersion().String() {
		return "", false
	}
	ds, err := c.dsLister.DaemonSets(pod.Namespace).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return "", false
	}
	return pod.Namespace + "/" + ds.Name, true
}

// enqueueMatching enqueues every DaemonSet whose selector matches an orphan pod.
func (c *controller) enqueueMatching(pod *corev1.Pod) {
	all, err := c.dsLister.DaemonSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range all {
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			c.rc.Queue.Add(pod.Namespace + "/" + ds.Name)
		}
	}
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func (c *controller) podAdded(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if k, ok := c.ownerKey(pod); ok {
		if pod.DeletionTimestamp != nil {
			c.exp.DeletionObserved(k, podKey(pod))
		} else {
			c.exp.CreationObserved(k)
		}
		c.rc.Queue.Add(k)
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		c.enqueueMatching(pod)
	}
}

func (c *controller) podUpdated(oldObj, newObj any) {
	oldPod, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == pod.ResourceVersion {
		return
	}
	for _, p := range []*corev1.Pod{oldPod, pod} {
		if k, ok := c.ownerKey(p); ok {
			if pod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
				c.exp.DeletionObserved(k, podKey(pod))
			}
			c.rc.Queue.Add(k)
		}
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		c.enqueueMatching(pod)
	}
}

func (c *controller) podDeleted(obj any) {
	pod, ok := runner.Unwrap(obj).(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != dsKind.Kind {
		return
	}
	k := pod.Namespace + "/" + ref.Name
	c.exp.DeletionObserved(k, podKey(pod))
	c.rc.Queue.Add(k)
}

// Reconcile syncs one DaemonSet.
func (c *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	ds, err := c.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || sel.Empty() {
		// Invalid or empty selectors are rejected by the API; nothing to do.
		return interfaces.ReconcileResult{}, nil
	}
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	// Take the expectations' verdict before reading the cache, so pods seen below include
	// every one the verdict counted.
	satisfied := c.exp.Satisfied(key)
	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	pods, claimErr := c.claim(ctx, ds, sel, all)
	if ds.DeletionTimestamp != nil {
		return interfaces.ReconcileResult{}, claimErr
	}
	revs, err := c.history(ctx, ds, sel)
	if err != nil {
		return interfaces.ReconcileResult{}, errors.Join(claimErr, err)
	}
	cur, old, err := c.currentRevision(ctx, ds, revs)
	if err != nil {
		return interfaces.ReconcileResult{}, errors.Join(claimErr, err)
	}
	hash := cur.Labels[HashLabel]
	byNode := podsByNode(pods)

	var res interfaces.ReconcileResult
	var manageErr error
	if satisfied && claimErr == nil {
		res, manageErr = c.manage(ctx, ds, key, hash, nodes, byNode)
		if manageErr == nil && c.exp.Satisfied(key) && ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
			var wait time.Duration
			wait, manageErr = c.rollingUpdate(ctx, ds, key, hash, nodes, byNode)
			res.RequeueAfter = minPositive(res.RequeueAfter, wait)
		}
		if manageErr == nil {
			manageErr = c.cleanupHistory(ctx, ds, old, pods)
		}
	}
	wait, statusErr := c.updateStatus(ctx, ds, hash, nodes, byNode)
	res.RequeueAfter = minPositive(res.RequeueAfter, wait)
	return res, errors.Join(claimErr, manageErr, statusErr)
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// podsByNode groups pods by the node they are for; pods for no node are under "".
func podsByNode(pods []*corev1.Pod) map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for _, p := range pods {
		n := TargetNode(p)
		out[n] = append(out[n], p)
	}
	return out
}

// claim returns the pods ds controls after adopting matching orphans and releasing owned pods
// that no longer match.
func (c *controller) claim(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	return runner.ClaimPods(ctx, c.client, runner.PodClaim{
		Owner: ds, Kind: dsKind, Selector: sel, KeepWhileDeleting: true, MayAdopt: true,
		Recheck: runner.RecheckOwner("DaemonSet", ds, func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
		}),
	}, pods)
}

// olderFirst orders pods oldest first (then by name).
func olderFirst(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// allowsSurge reports whether ds's rolling update may run two pods on a node.
func allowsSurge(ds *appsv1.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return false
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, 100, true)
	return err == nil && n != 0
}

// manage creates the missing daemon pods and deletes those that should not be: on nodes where
// the DaemonSet should not (continue to) run, on nodes that do not exist, surplus pods on a
// node and Failed or Succeeded pods.
func (c *controller) manage(ctx context.Context, ds *appsv1.DaemonSet, key, hash string, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) (interfaces.ReconcileResult, error) {
	var create []string
	var del []*corev1.Pod
	var wait time.Duration
	known := map[string]bool{}
	now := c.rc.Clock.Now()
	for _, node := range nodes {
		known[node.Name] = true
		shouldRun, shouldContinue := placement(ds, node)
		pods := byNode[node.Name]
		switch {
		case shouldRun && len(pods) == 0:
			create = append(create, node.Name)
		case shouldContinue:
			var running []*corev1.Pod
			for _, p := range pods {
				if p.DeletionTimestamp != nil {
					continue
				}
				if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
					if d := c.inBackoff(ds, node.Name, now); d > 0 {
						wait = minPositive(wait, d)
						continue
					}
					if p.Status.Phase == corev1.PodFailed {
						c.startBackoff(ds, node.Name, now)
					}
					del = append(del, p)
					continue
				}
				running = append(running, p)
			}
			olderFirst(running)
			if !allowsSurge(ds) {
				if len(running) > 1 {
					del = append(del, running[1:]...)
				}
				continue
			}
			if len(running) == 0 && shouldRun {
				create = append(create, node.Name)
				continue
			}
			// Surging: keep the oldest pod of the current template, and the oldest of an older
			// one while the updated pod is not yet ready.
			var updated, outdated *corev1.Pod
			for _, p := range running {
				switch {
				case p.Labels[HashLabel] == hash && updated == nil:
					updated = p
				case p.Labels[HashLabel] != hash && outdated == nil:
					outdated = p
				default:
					del = append(del, p)
				}
			}
			if updated != nil && outdated != nil && podReady(updated) {
				del = append(del, outdated)
			}
		case len(pods) > 0:
			for _, p := range pods {
				if p.DeletionTimestamp == nil {
					del = append(del, p)
				}
			}
		}
	}
	for n, pods := range byNode {
		if known[n] {
			continue
		}
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				del = append(del, p)
			}
		}
	}
	return interfaces.ReconcileResult{RequeueAfter: wait}, c.syncNodes(ctx, ds, key, hash, create, del)
}

func podReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (c *controller) inBackoff(ds *appsv1.DaemonSet, node string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.backoff[string(ds.UID)+"/"+node]
	if !ok || !now.Before(b.until) {
		return 0
	}
	return b.until.Sub(now)
}

func (c *controller) startBackoff(ds *appsv1.DaemonSet, node string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := string(ds.UID) + "/" + node
	b := c.backoff[k]
	switch {
	case b.delay == 0:
		b.delay = FailedPodBackoff
	case now.Sub(b.until) > 2*MaxFailedPodBackoff:
		// Quiet for long: start over.
		b.delay = FailedPodBackoff
	default:
		b.delay = min(2*b.delay, MaxFailedPodBackoff)
	}
	b.until = now.Add(b.delay)
	c.backoff[k] = b
}

// syncNodes creates a daemon pod for each node of create and deletes the pods of del,
// recording both as expectations first.
func (c *controller) syncNodes(ctx context.Context, ds *appsv1.DaemonSet, key, hash string, create []string, del []*corev1.Pod) error {
	if len(create) == 0 && len(del) == 0 {
		return nil
	}
	delKeys := make([]string, len(del))
	for i, p := range del {
		delKeys[i] = podKey(p)
	}
	c.exp.Expect(key, len(create), delKeys)
	var wg sync.WaitGroup
	errs := make([]error, len(create)+len(del))
	for i, node := range create {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, newPod(ds, hash, node), metav1.CreateOptions{})
			if err != nil {
				c.exp.CreationObserved(key)
				if !runner.CreateSettled(err) || apierrors.IsAlreadyExists(err) {
					errs[i] = fmt.Errorf("creating the daemon pod for node %s: %w", node, err)
				}
			}
		}()
	}
	for i, p := range del {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err != nil {
				c.exp.DeletionObserved(key, delKeys[i])
				if !apierrors.IsNotFound(err) {
					errs[len(create)+i] = fmt.Errorf("deleting daemon pod %s: %w", p.Name, err)
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
