package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's name).
const Name = "job"

// Backoff before a failed pod is replaced: DefaultBackoff doubling per failure, at most
// MaxBackoff (as in Kubernetes).
const (
	DefaultBackoff = 10 * time.Second
	MaxBackoff     = 6 * time.Minute
)

// orphanPrefix marks queue keys of pods whose tracking finalizer must go because no Job owns
// them any more.
const orphanPrefix = "orphan-pod:"

var jobKind = batchv1.SchemeGroupVersion.WithKind("Job")

// New returns the factory of the Job controller.
func New() runner.Factory {
	return func(rc runner.Context) (interfaces.Controller, error) {
		jobInf := rc.Informers.Batch().V1().Jobs()
		podInf := rc.Informers.Core().V1().Pods()
		c := &controller{
			rc: rc, client: rc.Client, jobLister: jobInf.Lister(), podLister: podInf.Lister(),
			exp: newExpectations(rc.Clock), lastFailure: map[types.UID]time.Time{},
		}
		if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, n any) { c.enqueue(n) },
			DeleteFunc: c.jobDeleted,
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
		return c, nil
	}
}

type controller struct {
	rc        runner.Context
	client    kubernetes.Interface
	jobLister batchlisters.JobLister
	podLister corelisters.PodLister
	exp       *jobExpectations

	mu          sync.Mutex
	lastFailure map[types.UID]time.Time // per Job: when the controller last counted a failed pod
}

func (c *controller) Name() string { return Name }

func (c *controller) enqueue(obj any) {
	if k, ok := runner.Key(obj); ok {
		c.rc.Queue.Add(k)
	}
}

func (c *controller) jobDeleted(obj any) {
	j, ok := runner.Unwrap(obj).(*batchv1.Job)
	if !ok {
		return
	}
	key := j.Namespace + "/" + j.Name
	c.exp.Forget(key)
	c.mu.Lock()
	delete(c.lastFailure, j.UID)
	c.mu.Unlock()
	// Its pods' finalizers must go.
	pods, err := c.podLister.Pods(j.Namespace).List(labels.Everything())
	if err == nil {
		for _, p := range pods {
			if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.UID == j.UID && hasFinalizer(p) {
				c.rc.Queue.Add(orphanPrefix + podKey(p))
			}
		}
	}
	c.rc.Queue.Add(key)
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func hasFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == batchv1.JobTrackingFinalizer {
			return true
		}
	}
	return false
}

// ownerKey returns the key of the Job controlling pod, if it is in the cache with the
// referenced uid; orphaned reports a pod with the tracking finalizer whose Job is gone.
func (c *controller) ownerKey(pod *corev1.Pod) (key string, ok bool) {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != jobKind.Kind || ref.APIVersion != jobKind.GroupVersion().String() {
		return "", false
	}
	j, err := c.jobLister.Jobs(pod.Namespace).Get(ref.Name)
	if err != nil || j.UID != ref.UID {
		return "", false
	}
	return pod.Namespace + "/" + j.Name, true
}

// route enqueues the Job of pod, or the pod itself when it carries the finalizer of a Job that
// is gone, or the Jobs whose selector matches an orphan.
func (c *controller) route(pod *corev1.Pod) {
	if k, ok := c.ownerKey(pod); ok {
		c.rc.Queue.Add(k)
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if hasFinalizer(pod) && (ref == nil || ref.Kind == jobKind.Kind) {
		c.rc.Queue.Add(orphanPrefix + podKey(pod))
	}
	if ref == nil && pod.DeletionTimestamp == nil {
		jobs, err := c.jobLister.Jobs(pod.Namespace).List(labels.Everything())
		if err != nil {
			return
		}
		for _, j := range jobs {
			sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
				c.rc.Queue.Add(j.Namespace + "/" + j.Name)
			}
		}
	}
}

func (c *controller) podAdded(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if !hasFinalizer(pod) {
		c.exp.finalizerGone(pod.UID)
	}
	if k, ok := c.ownerKey(pod); ok {
		if pod.DeletionTimestamp != nil {
			c.exp.DeletionObserved(k, podKey(pod))
		} else {
			c.exp.CreationObserved(k)
		}
	}
	c.route(pod)
}

func (c *controller) podUpdated(oldObj, newObj any) {
	oldPod, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == pod.ResourceVersion {
		return
	}
	if !hasFinalizer(pod) {
		c.exp.finalizerGone(pod.UID)
	}
	if k, ok := c.ownerKey(pod); ok && pod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
		c.exp.DeletionObserved(k, podKey(pod))
	}
	if k, ok := c.ownerKey(oldPod); ok {
		c.rc.Queue.Add(k)
	}
	c.route(pod)
}

func (c *controller) podDeleted(obj any) {
	pod, ok := runner.Unwrap(obj).(*corev1.Pod)
	if !ok {
		return
	}
	c.exp.finalizerGone(pod.UID)
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != jobKind.Kind {
		return
	}
	k := pod.Namespace + "/" + ref.Name
	c.exp.DeletionObserved(k, podKey(pod))
	c.rc.Queue.Add(k)
}

// Reconcile syncs one Job (or drops the finalizer of an orphaned pod).
func (c *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	if pk, ok := strings.CutPrefix(key, orphanPrefix); ok {
		return interfaces.ReconcileResult{}, c.releaseOrphan(ctx, pk)
	}
	ns, name := runner.SplitKey(key)
	j, err := c.jobLister.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
	if err != nil || sel.Empty() {
		return interfaces.ReconcileResult{}, nil
	}
	satisfied := c.exp.Satisfied(key)
	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	pods, claimErr := c.claim(ctx, j, sel, all)
	if finished(j) {
		// Every pod was counted before the Job finished; drop what finalizers are left.
		return interfaces.ReconcileResult{}, errors.Join(claimErr, c.dropFinalizers(ctx, pods))
	}
	res, err := c.sync(ctx, key, j.DeepCopy(), pods, satisfied)
	return res, errors.Join(claimErr, err)
}

// releaseOrphan removes the tracking finalizer of a pod whose Job is gone (checked live, the
// cache may lag) or which no Job controls.
func (c *controller) releaseOrphan(ctx context.Context, key string) error {
	ns, name := runner.SplitKey(key)
	p, err := c.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || !hasFinalizer(p) {
		return err
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if ref.Kind != jobKind.Kind {
			return nil
		}
		live, err := c.client.BatchV1().Jobs(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case err == nil && live.UID == ref.UID:
			// The Job exists: its own sync counts the pod.
			c.rc.Queue.Add(ns + "/" + ref.Name)
			return nil
		case err != nil && !apierrors.IsNotFound(err):
			return fmt.Errorf("reading Job %s/%s of pod %s: %w", ns, ref.Name, name, err)
		}
	}
	return c.dropFinalizers(ctx, []*corev1.Pod{p})
}

// finished reports whether j has the Complete or Failed condition.
func finished(j *batchv1.Job) bool {
	for _, cond := range j.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// claim returns the pods j controls after adopting matching orphans and releasing owned pods
// that no longer match.
func (c *controller) claim(ctx context.Context, j *batchv1.Job, sel labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	return runner.ClaimPods(ctx, c.client, runner.PodClaim{
		Owner: j, Kind: jobKind, Selector: sel, KeepWhileDeleting: true, MayAdopt: !finished(j),
		Recheck: runner.RecheckOwner("Job", j, func(ctx context.Context) (metav1.Object, error) {
			return c.client.BatchV1().Jobs(j.Namespace).Get(ctx, j.Name, metav1.GetOptions{})
		}),
	}, pods)
}

// dropFinalizers removes the tracking finalizer from each pod that has it.
func (c *controller) dropFinalizers(ctx context.Context, pods []*corev1.Pod) error {
	_, err := c.removeFinalizers(ctx, pods)
	return err
}

// removeFinalizers removes the tracking finalizer from each pod that has it; it returns the
// UIDs it removed it from (or whose pod is gone).
func (c *controller) removeFinalizers(ctx context.Context, pods []*corev1.Pod) (map[types.UID]bool, error) {
	done := map[types.UID]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i, p := range pods {
		if !hasFinalizer(p) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.removeFinalizer(ctx, p)
			if err == nil || apierrors.IsNotFound(err) {
				c.exp.finalizerRemoved(p.UID)
				mu.Lock()
				done[p.UID] = true
				mu.Unlock()
				return
			}
			errs[i] = fmt.Errorf("removing the tracking finalizer of pod %s: %w", p.Name, err)
		}()
	}
	wg.Wait()
	return done, errors.Join(errs...)
}

// removeFinalizer removes the tracking finalizer with a JSON patch that tests the pod's uid and
// the finalizer's place, so that it never drops another finalizer.
func (c *controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	for i, f := range p.Finalizers {
		if f != batchv1.JobTrackingFinalizer {
			continue
		}
		patch := fmt.Sprintf(`[{"op":"test","path":"/metadata/uid","value":%q},{"op":"test","path":"/metadata/finalizers/%d","value":%q},{"op":"remove","path":"/metadata/finalizers/%d"}]`,
			p.UID, i, f, i)
		_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
		if apierrors.IsInvalid(err) || apierrors.IsConflict(err) || isTestFailed(err) {
			// The pod changed under us: re-read and retry once.
			live, gerr := c.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			if live.UID != p.UID {
				return apierrors.NewNotFound(corev1.Resource("pods"), p.Name)
			}
			if !hasFinalizer(live) {
				return nil
			}
			if live.ResourceVersion == p.ResourceVersion {
				return err
			}
			return c.removeFinalizer(ctx, live)
		}
		return err
	}
	return nil
}

func isTestFailed(err error) bool {
	return apierrors.IsBadRequest(err) || apierrors.IsInvalid(err)
}
