package disruption

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's).
const Name = "disruption"

// DeletionTimeout is how long an eviction recorded in status.disruptedPods keeps its pod out
// of currentHealthy while the pod is not yet seen deleting (kube-controller-manager's 2 minutes).
const DeletionTimeout = 2 * time.Minute

// New returns the factory of the disruption controller. Its keys are "namespace/name" of
// PodDisruptionBudgets.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		pdbInf := c.Informers.Policy().V1().PodDisruptionBudgets()
		podInf := c.Informers.Core().V1().Pods()
		rsInf := c.Informers.Apps().V1().ReplicaSets()
		stsInf := c.Informers.Apps().V1().StatefulSets()
		d := &controller{
			client: c.Client, clock: c.Clock,
			pdbs: pdbInf.Lister(), pods: podInf.Lister(), replicaSets: rsInf.Lister(), statefulSets: stsInf.Lister(),
		}
		if _, err := pdbInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		// A pod's change reaches every budget of its namespace that selects it.
		enqueuePod := func(obj any) {
			pod, ok := runner.Unwrap(obj).(*corev1.Pod)
			if !ok {
				return
			}
			for _, key := range d.budgetsOf(pod) {
				c.Queue.Add(key)
			}
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: enqueuePod, UpdateFunc: func(_, n any) { enqueuePod(n) }, DeleteFunc: enqueuePod,
		}); err != nil {
			return nil, err
		}
		// Scale changes of controllers change expectedPods.
		enqueueNamespace := func(obj any) {
			m, err := apimeta.Accessor(runner.Unwrap(obj))
			if err != nil {
				return
			}
			list, err := d.pdbs.PodDisruptionBudgets(m.GetNamespace()).List(labels.Everything())
			if err != nil {
				return
			}
			for _, pdb := range list {
				c.Queue.Add(pdb.Namespace + "/" + pdb.Name)
			}
		}
		for _, inf := range []cache.SharedIndexInformer{rsInf.Informer(), stsInf.Informer()} {
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc: enqueueNamespace, UpdateFunc: func(_, n any) { enqueueNamespace(n) }, DeleteFunc: enqueueNamespace,
			}); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
}

type controller struct {
	client       kubernetes.Interface
	clock        runner.Clock
	pdbs         policylisters.PodDisruptionBudgetLister
	pods         corelisters.PodLister
	replicaSets  appslisters.ReplicaSetLister
	statefulSets appslisters.StatefulSetLister
}

func (d *controller) Name() string { return Name }

// budgetsOf returns the keys of the budgets of pod's namespace whose selector matches it.
func (d *controller) budgetsOf(pod *corev1.Pod) []string {
	list, err := d.pdbs.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []string
	for _, pdb := range list {
		if sel := selectorOf(pdb); sel != nil && sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, pdb.Namespace+"/"+pdb.Name)
		}
	}
	return out
}

// selectorOf returns the budget's selector (nil: it selects nothing).
func selectorOf(pdb *policyv1.PodDisruptionBudget) labels.Selector {
	if pdb.Spec.Selector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return nil
	}
	return sel
}

// Reconcile recomputes one budget's status and writes it when it changed.
func (d *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	pdb, err := d.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	var pods []*corev1.Pod
	if sel := selectorOf(pdb); sel != nil {
		if pods, err = d.pods.Pods(ns).List(sel); err != nil {
			return interfaces.ReconcileResult{}, err
		}
	}
	now := d.clock.Now()
	status := pdb.Status.DeepCopy()
	disrupted, recheck := d.liveDisruptions(pdb, pods, now)
	expected, desired, scaleErr := d.expectedAndDesired(pdb, pods)
	healthy := countHealthy(pods, disrupted, now)
	allowed := int32(0)
	if scaleErr == nil && expected > 0 && healthy > desired {
		allowed = healthy - desired
	}
	status.ExpectedPods, status.DesiredHealthy, status.CurrentHealthy = expected, desired, healthy
	status.DisruptionsAllowed = allowed
	status.DisruptedPods = disrupted
	status.ObservedGeneration = pdb.Generation
	cond := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, ObservedGeneration: pdb.Generation,
		LastTransitionTime: metav1.NewTime(now.UTC().Truncate(time.Second))}
	switch {
	case scaleErr != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, policyv1.SyncFailedReason, scaleErr.Error()
	case allowed > 0:
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	default:
		cond.Status, cond.Reason = metav1.ConditionFalse, policyv1.InsufficientPodsReason
	}
	apimeta.SetStatusCondition(&status.Conditions, cond)
	result := interfaces.ReconcileResult{RequeueAfter: recheck}
	if reflect.DeepEqual(*status, pdb.Status) {
		return result, nil
	}
	cp := pdb.DeepCopy()
	cp.Status = *status
	// A conflict means a newer budget (or an eviction) is on its way through the informer.
	if _, err := d.client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, fmt.Errorf("updating the status of PodDisruptionBudget %s: %w", key, err)
	}
	return result, nil
}

// liveDisruptions keeps the disruptedPods entries whose pod still exists, is not yet deleting
// and was evicted less than DeletionTimeout ago; it returns when the oldest kept one expires.
func (d *controller) liveDisruptions(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (map[string]metav1.Time, time.Duration) {
	if len(pdb.Status.DisruptedPods) == 0 {
		return nil, 0
	}
	byName := map[string]*corev1.Pod{}
	for _, p := range pods {
		byName[p.Name] = p
	}
	out := map[string]metav1.Time{}
	var recheck time.Duration
	for name, at := range pdb.Status.DisruptedPods {
		p, ok := byName[name]
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		left := at.Add(DeletionTimeout).Sub(now)
		if left <= 0 {
			continue
		}
		out[name] = at
		if recheck == 0 || left < recheck {
			recheck = left
		}
	}
	if len(out) == 0 {
		return nil, 0
	}
	return out, recheck
}

// countHealthy counts the ready pods that are not deleting and not recently evicted.
func countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if _, ok := disrupted[p.Name]; ok {
			continue
		}
		if podReady(p) {
			n++
		}
	}
	return n
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// expectedAndDesired computes expectedPods and desiredHealthy as kube-controller-manager: an
// integer minAvailable counts the selected pods and desires that many; a percentage or
// maxUnavailable takes the scale of the pods' controllers.
func (d *controller) expectedAndDesired(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, err error) {
	spec := pdb.Spec
	switch {
	case spec.MaxUnavailable != nil:
		if expected, err = d.expectedScale(pods); err != nil {
			return 0, 0, err
		}
		unavailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		desired = max(expected-int32(unavailable), 0)
	case spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.Int:
		expected, desired = int32(len(pods)), spec.MinAvailable.IntVal
	case spec.MinAvailable != nil:
		if expected, err = d.expectedScale(pods); err != nil {
			return 0, 0, err
		}
		v, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		desired = int32(min(v, math.MaxInt32))
	default:
		// Neither set: nothing is expected, so no disruption is allowed.
	}
	return expected, desired, nil
}

// expectedScale sums the desired replicas of the controllers of the pods (each counted once).
func (d *controller) expectedScale(pods []*corev1.Pod) (int32, error) {
	seen := map[string]bool{}
	var total int32
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			return 0, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		key := ref.Kind + "/" + string(ref.UID)
		if seen[key] {
			continue
		}
		seen[key] = true
		n, err := d.scaleOf(p.Namespace, ref)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func (d *controller) scaleOf(ns string, ref *metav1.OwnerReference) (int32, error) {
	replicas := func(r *int32) int32 {
		if r == nil {
			return 1
		}
		return *r
	}
	switch ref.Kind {
	case "ReplicaSet":
		rs, err := d.replicaSets.ReplicaSets(ns).Get(ref.Name)
		if err != nil {
			return 0, err
		}
		return replicas(rs.Spec.Replicas), nil
	case "StatefulSet":
		sts, err := d.statefulSets.StatefulSets(ns).Get(ref.Name)
		if err != nil {
			return 0, err
		}
		return replicas(sts.Spec.Replicas), nil
	}
	return 0, fmt.Errorf("controller %s %s of a selected pod has no known scale", ref.Kind, ref.Name)
}
