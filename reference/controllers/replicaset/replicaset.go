package replicaset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/expectations"
	"github.com/clusterkit/clusterkit/reference/controllers/podstate"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager.
const Name = "replicaset"

// DefaultBurst bounds the pods created or deleted by one reconcile.
const DefaultBurst = 500

// Config configures the controller.
type Config struct {
	// Burst bounds the creations or deletions of one reconcile (default
	// DefaultBurst); creations go in slow-start batches of 1, 2, 4, ….
	Burst int
}

// New returns the factory of the ReplicaSet controller.
func New(cfg Config) runner.Factory { return newFactory(cfg, newReplicaSets) }

// newFactory returns the factory of the controller of the owner kind newOwners reads.
func newFactory(cfg Config, newOwners func(runner.Context) owners) runner.Factory {
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	return func(c runner.Context) (interfaces.Controller, error) {
		own := newOwners(c)
		podInf := c.Informers.Core().V1().Pods()
		r := &controller{
			client: c.Client, owners: own, podLister: podInf.Lister(),
			ctx: c, burst: cfg.Burst, exp: expectations.New(c.Clock),
		}
		if _, err := own.informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    r.enqueue,
			UpdateFunc: func(_, n any) { r.enqueue(n) },
			DeleteFunc: func(obj any) {
				if k, ok := runner.Key(obj); ok {
					r.exp.Forget(k)
					c.Queue.Add(k)
				}
			},
		}); err != nil {
			return nil, err
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    r.podAdded,
			UpdateFunc: r.podUpdated,
			DeleteFunc: r.podDeleted,
		}); err != nil {
			return nil, err
		}
		return r, nil
	}
}

type controller struct {
	client    kubernetes.Interface
	owners    owners
	podLister corelisters.PodLister
	ctx       runner.Context
	burst     int
	exp       *expectations.Pods
}

func (r *controller) Name() string { return r.owners.name() }

func (r *controller) enqueue(obj any) {
	if k, ok := runner.Key(obj); ok {
		r.ctx.Queue.Add(k)
	}
}

// ownerKey returns the key of the ReplicaSet controlling pod, if it exists
// with the referenced uid.
func (r *controller) ownerKey(pod *corev1.Pod) (string, bool) {
	ref := metav1.GetControllerOfNoCopy(pod)
	kind := r.owners.kind()
	if ref == nil || ref.Kind != kind.Kind || ref.APIVersion != kind.GroupVersion().String() {
		return "", false
	}
	rs, err := r.owners.get(pod.Namespace, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return "", false
	}
	return pod.Namespace + "/" + rs.Name, true
}

// enqueueMatching enqueues every ReplicaSet whose selector matches an orphan.
func (r *controller) enqueueMatching(pod *corev1.Pod) {
	all, err := r.owners.list(pod.Namespace)
	if err != nil {
		return
	}
	for _, rs := range all {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			r.ctx.Queue.Add(pod.Namespace + "/" + rs.Name)
		}
	}
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func (r *controller) podAdded(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if k, ok := r.ownerKey(pod); ok {
		if pod.DeletionTimestamp != nil {
			r.exp.DeletionObserved(k, podKey(pod))
		} else {
			r.exp.CreationObserved(k)
		}
		r.ctx.Queue.Add(k)
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		r.enqueueMatching(pod)
	}
}

func (r *controller) podUpdated(oldObj, newObj any) {
	oldPod, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == pod.ResourceVersion {
		return
	}
	if k, ok := r.ownerKey(oldPod); ok {
		if pod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
			r.exp.DeletionObserved(k, podKey(pod))
		}
		r.ctx.Queue.Add(k)
	}
	if k, ok := r.ownerKey(pod); ok {
		if pod.DeletionTimestamp != nil {
			r.exp.DeletionObserved(k, podKey(pod))
		}
		r.ctx.Queue.Add(k)
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		r.enqueueMatching(pod)
	}
}

func (r *controller) podDeleted(obj any) {
	pod, ok := runner.Unwrap(obj).(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != r.owners.kind().Kind {
		return
	}
	k := pod.Namespace + "/" + ref.Name
	r.exp.DeletionObserved(k, podKey(pod))
	r.ctx.Queue.Add(k)
}

// Reconcile syncs one ReplicaSet.
func (r *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	rs, err := r.owners.get(ns, name)
	if apierrors.IsNotFound(err) {
		r.exp.Forget(key)
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		// Invalid selectors are rejected by the API; nothing to do.
		return interfaces.ReconcileResult{}, nil
	}
	// Take the expectations' verdict before reading the cache, so pods seen
	// below include every one the verdict counted.
	satisfied := r.exp.Satisfied(key)
	pods, err := r.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	claimed, claimErr := r.claim(ctx, rs, sel, pods)
	var active []*corev1.Pod
	for _, p := range claimed {
		if podstate.Active(p) {
			active = append(active, p)
		}
	}
	var manageErr error
	// A failed claim (the ReplicaSet turned out to be deleted, an adoption
	// or release failed) leaves the pods it controls unknown: counting
	// without them would create pods, so nothing is created or deleted
	// until the claim succeeds.
	if satisfied && rs.DeletionTimestamp == nil && claimErr == nil {
		manageErr = r.manage(ctx, rs, key, active)
	}
	res, statusErr := r.updateStatus(ctx, rs, active, manageErr)
	return res, errors.Join(claimErr, manageErr, statusErr)
}

// claim returns the pods rs controls after adopting matching orphans and
// releasing owned pods that no longer match.
func (r *controller) claim(ctx context.Context, rs *appsv1.ReplicaSet, sel labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	return runner.ClaimPods(ctx, r.client, runner.PodClaim{
		Owner: rs, Kind: r.owners.kind(), Selector: sel, MayAdopt: true,
		Recheck: runner.RecheckOwner("ReplicaSet", rs, func(ctx context.Context) (metav1.Object, error) {
			return r.owners.live(ctx, rs.Namespace, rs.Name)
		}),
	}, pods)
}

// manage creates or deletes pods so the active ones number spec.replicas.
func (r *controller) manage(ctx context.Context, rs *appsv1.ReplicaSet, key string, active []*corev1.Pod) error {
	want := int(ptrOr(rs.Spec.Replicas, 1))
	diff := len(active) - want
	switch {
	case diff < 0:
		n := min(-diff, r.burst)
		r.exp.Expect(key, n, nil)
		created, err := slowStart(n, func() error {
			pod, err := r.client.CoreV1().Pods(rs.Namespace).Create(ctx, podFor(rs, r.owners.kind()), metav1.CreateOptions{})
			if err != nil {
				if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					r.ctx.Eventf(r.ref(rs), corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
				}
				return err
			}
			r.ctx.Eventf(r.ref(rs), corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
			return nil
		})
		for range n - created {
			r.exp.CreationObserved(key)
		}
		if err != nil {
			return fmt.Errorf("creating pods for %s: %w", key, err)
		}
	case diff > 0:
		n := min(diff, r.burst)
		victims := append([]*corev1.Pod(nil), active...)
		sort.Stable(newByUsefulness(victims))
		victims = victims[:n]
		keys := make([]string, n)
		for i, p := range victims {
			keys[i] = podKey(p)
		}
		r.exp.Expect(key, 0, keys)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := r.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
				if err != nil {
					r.exp.DeletionObserved(key, keys[i])
					if !apierrors.IsNotFound(err) {
						errs[i] = fmt.Errorf("deleting pod %s: %w", p.Name, err)
						r.ctx.Eventf(r.ref(rs), corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
					}
					return
				}
				r.ctx.Eventf(r.ref(rs), corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// ref is the reference the controller's Events are about: the owner as its own kind (a
// ReplicationController is handled as a ReplicaSet but its Events name it).
func (r *controller) ref(rs *appsv1.ReplicaSet) *corev1.ObjectReference {
	k := r.owners.kind()
	return &corev1.ObjectReference{APIVersion: k.GroupVersion().String(), Kind: k.Kind,
		Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID, ResourceVersion: rs.ResourceVersion}
}

// slowStart calls create n times in batches of 1, 2, 4, … and stops after
// the first batch with an error; it returns how many calls succeeded.
func slowStart(n int, create func() error) (int, error) {
	attempted := 0
	for batch := 1; attempted < n; batch *= 2 {
		size := min(batch, n-attempted)
		var wg sync.WaitGroup
		errs := make([]error, size)
		for i := range size {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = create()
			}()
		}
		wg.Wait()
		var failed []error
		for _, err := range errs {
			if err != nil {
				failed = append(failed, err)
			}
		}
		attempted += size
		if len(failed) > 0 {
			return attempted - len(failed), errors.Join(failed...)
		}
	}
	return attempted, nil
}

// DeletionCostAnnotation is the annotation by which users rank a ReplicaSet's pods for
// scale-down: the lower its value, the sooner the pod goes.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// deletionCost is the pod's DeletionCostAnnotation as an int32; missing or not an int32, 0.
func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[DeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// restarts is the highest restart count of the pod's containers.
func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n = max(n, cs.RestartCount)
	}
	return n
}

// byUsefulness sorts a scale-down's candidates, the first to delete first, as Kubernetes'
// ActivePodsWithRanks does: unscheduled before scheduled, pending before unknown before
// running, not ready before ready, lower pod-deletion-cost first, pods sharing their node with
// more of the set's pods first, the most recently ready first, more container restarts first,
// the most recently created first.
type byUsefulness struct {
	pods   []*corev1.Pod
	onNode map[string]int // the candidates on each node
}

func newByUsefulness(pods []*corev1.Pod) byUsefulness {
	on := map[string]int{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			on[p.Spec.NodeName]++
		}
	}
	return byUsefulness{pods: pods, onNode: on}
}

func (s byUsefulness) Len() int      { return len(s.pods) }
func (s byUsefulness) Swap(i, j int) { s.pods[i], s.pods[j] = s.pods[j], s.pods[i] }
func (s byUsefulness) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	phaseRank := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	if ra, rb := phaseRank[a.Status.Phase], phaseRank[b.Status.Phase]; ra != rb {
		return ra < rb
	}
	if ra, rb := podstate.Ready(a), podstate.Ready(b); ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if na, nb := s.onNode[a.Spec.NodeName], s.onNode[b.Spec.NodeName]; a.Spec.NodeName != "" && na != nb {
		return na > nb
	}
	if podstate.Ready(a) {
		ta, tb := podstate.ReadyCondition(a).LastTransitionTime, podstate.ReadyCondition(b).LastTransitionTime
		if !ta.Equal(&tb) {
			return tb.Before(&ta)
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

// podFor builds a pod from rs's template, controlled by rs (of the given kind).
func podFor(rs *appsv1.ReplicaSet, kind schema.GroupVersionKind) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(rs, kind)},
		},
		Spec: t.Spec,
	}
}

// updateStatus writes the ReplicaSet's status from its active pods.
func (r *controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, active []*corev1.Pod, manageErr error) (interfaces.ReconcileResult, error) {
	now := r.ctx.Clock.Now()
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	templateLabels := labels.SelectorFromSet(rs.Spec.Template.Labels)
	st := appsv1.ReplicaSetStatus{Replicas: int32(len(active)), ObservedGeneration: rs.Generation,
		Conditions: replicaFailure(rs, len(active), manageErr, now)}
	var wait time.Duration
	for _, p := range active {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if podstate.Ready(p) {
			st.ReadyReplicas++
			if podstate.Available(p, minReady, now) {
				st.AvailableReplicas++
			} else if d := podstate.UntilAvailable(p, minReady, now); d > 0 && (wait == 0 || d < wait) {
				wait = d
			}
		}
	}
	res := interfaces.ReconcileResult{RequeueAfter: wait}
	if reflect.DeepEqual(st, rs.Status) {
		return res, nil
	}
	cp := rs.DeepCopy()
	cp.Status = st
	err := r.owners.updateStatus(ctx, cp)
	if apierrors.IsConflict(err) {
		// The cache lags our own writes: status is computed from pods, not
		// from the ReplicaSet, so write it on the latest version once.
		latest, getErr := r.owners.live(ctx, rs.Namespace, rs.Name)
		if apierrors.IsNotFound(getErr) {
			return res, nil
		}
		if getErr != nil {
			return res, fmt.Errorf("re-reading %s/%s: %w", rs.Namespace, rs.Name, getErr)
		}
		if latest.UID != rs.UID || latest.Generation != rs.Generation {
			return res, err // a new spec: reconcile again from scratch
		}
		latest.Status = st
		err = r.owners.updateStatus(ctx, latest)
	}
	if apierrors.IsNotFound(err) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("updating status of %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return res, nil
}

// replicaFailure returns rs's conditions after this pass, as Kubernetes' ReplicaSet controller
// keeps them: a failed create or delete adds ReplicaFailure (True; reason FailedCreate when pods
// were missing, FailedDelete when there were too many; the error as message) unless one is
// already there, and a pass that created and deleted what it had to (or had nothing to do)
// removes it.
func replicaFailure(rs *appsv1.ReplicaSet, active int, manageErr error, now time.Time) []appsv1.ReplicaSetCondition {
	conds := rs.Status.Conditions
	i := slices.IndexFunc(conds, func(c appsv1.ReplicaSetCondition) bool { return c.Type == appsv1.ReplicaSetReplicaFailure })
	switch {
	case manageErr != nil && i < 0:
		reason := ""
		switch diff := active - int(ptrOr(rs.Spec.Replicas, 1)); {
		case diff < 0:
			reason = "FailedCreate"
		case diff > 0:
			reason = "FailedDelete"
		}
		return append(slices.Clone(conds), appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: reason,
			Message: manageErr.Error(), LastTransitionTime: metav1.NewTime(now),
		})
	case manageErr == nil && i >= 0:
		return slices.Delete(slices.Clone(conds), i, i+1)
	}
	return conds
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
