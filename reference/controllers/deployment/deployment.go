package deployment

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager.
const Name = "deployment"

// Annotations and condition reasons, as Kubernetes names them.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	lastAppliedAnnotation     = "kubectl.kubernetes.io/last-applied-configuration"

	ReasonNewReplicaSetCreated  = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet    = "FoundNewReplicaSet"
	ReasonReplicaSetUpdated     = "ReplicaSetUpdated"
	ReasonNewReplicaSetReady    = "NewReplicaSetAvailable"
	ReasonProgressDeadline      = "ProgressDeadlineExceeded"
	ReasonPaused                = "DeploymentPaused"
	ReasonMinimumAvailable      = "MinimumReplicasAvailable"
	ReasonMinimumUnavailable    = "MinimumReplicasUnavailable"
	ReasonReplicaSetCreateError = "ReplicaSetCreateError"
)

var (
	deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment")
	rsKind         = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
)

// New returns the factory of the Deployment controller.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		dInf := c.Informers.Apps().V1().Deployments()
		rsInf := c.Informers.Apps().V1().ReplicaSets()
		podInf := c.Informers.Core().V1().Pods()
		d := &controller{client: c.Client, dLister: dInf.Lister(), rsLister: rsInf.Lister(), podLister: podInf.Lister(), ctx: c}
		if _, err := dInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		rsHandler := func(obj any) { d.enqueueForReplicaSet(runner.Unwrap(obj)) }
		if _, err := rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: rsHandler, UpdateFunc: func(_, n any) { rsHandler(n) }, DeleteFunc: rsHandler,
		}); err != nil {
			return nil, err
		}
		// Recreate waits for old pods to be gone: their deletions matter.
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) { d.enqueueForPod(runner.Unwrap(obj)) },
		}); err != nil {
			return nil, err
		}
		return d, nil
	}
}

type controller struct {
	client    kubernetes.Interface
	dLister   appslisters.DeploymentLister
	rsLister  appslisters.ReplicaSetLister
	podLister corelisters.PodLister
	ctx       runner.Context
}

func (c *controller) Name() string { return Name }

func (c *controller) enqueueForReplicaSet(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if ref.Kind == deploymentKind.Kind {
			c.ctx.Queue.Add(rs.Namespace + "/" + ref.Name)
		}
		return
	}
	all, err := c.dLister.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, d := range all {
		if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.ctx.Queue.Add(rs.Namespace + "/" + d.Name)
		}
	}
}

func (c *controller) enqueueForPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != rsKind.Kind {
		return
	}
	if rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name); err == nil {
		c.enqueueForReplicaSet(rs)
	}
}

// Reconcile syncs one Deployment.
func (c *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	cached, err := c.dLister.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	d := cached.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		// An empty selector would select every pod: Kubernetes refuses to act.
		return interfaces.ReconcileResult{}, nil
	}
	// ReplicaSets are read from the API, not the cache: the decisions below
	// set absolute replica counts, and acting on a stale count could undo an
	// earlier scale-down and break the surge bound.
	rsList, err := c.replicaSets(ctx, d, sel)
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if d.DeletionTimestamp != nil {
		return interfaces.ReconcileResult{}, c.writeStatus(ctx, d, findNew(d, rsList), rsList, false)
	}
	newRS, olds := split(d, rsList)
	progressed := false
	if !d.Spec.Paused {
		var created bool
		newRS, created, err = c.ensureNewReplicaSet(ctx, d, newRS, olds)
		if err != nil {
			return interfaces.ReconcileResult{}, err
		}
		progressed = created
		var scaled bool
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			scaled, err = c.recreate(ctx, d, newRS, olds)
		} else {
			scaled, err = c.rollingUpdate(ctx, d, newRS, olds)
		}
		if err != nil {
			return interfaces.ReconcileResult{}, err
		}
		progressed = progressed || scaled
	} else if newRS != nil && activeCount(olds) == 0 && replicas(newRS) != replicas(d) {
		// Paused: scaling still applies; a rollout does not.
		if newRS, err = c.scale(ctx, d, newRS, replicas(d)); err != nil {
			return interfaces.ReconcileResult{}, err
		}
	}
	if err := c.cleanup(ctx, d, olds); err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if err := c.writeStatus(ctx, d, newRS, append(olds, nonNil(newRS)...), progressed); err != nil {
		return interfaces.ReconcileResult{}, err
	}
	return c.deadlineRequeue(d), nil
}

func nonNil(rs *appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	if rs == nil {
		return nil
	}
	return []*appsv1.ReplicaSet{rs}
}

// replicaSets returns the ReplicaSets d controls, adopting matching orphans
// and releasing owned ones that stopped matching.
func (c *controller) replicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	list, err := c.client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ReplicaSets: %w", err)
	}
	var out []*appsv1.ReplicaSet
	var errs []error
	checked := false // d read live, once, before the first adoption
	for i := range list.Items {
		rs := &list.Items[i]
		ref := metav1.GetControllerOfNoCopy(rs)
		matches := sel.Matches(labels.Set(rs.Labels))
		if ref == nil && matches && d.DeletionTimestamp == nil && rs.DeletionTimestamp == nil && !checked {
			// d comes from the cache, which can lag: a Deployment being
			// deleted with propagationPolicy=Orphan, whose ReplicaSets the
			// collector just released, must not take them back (they would
			// be deleted with it).
			live, err := c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("re-reading Deployment before adopting: %w", err)
			}
			if live.UID != d.UID || live.DeletionTimestamp != nil {
				return nil, fmt.Errorf("Deployment %s/%s is being deleted: not adopting (the cache is behind)", d.Namespace, d.Name)
			}
			checked = true
		}
		switch {
		case ref != nil && ref.UID == d.UID:
			if matches {
				out = append(out, rs)
			} else if d.DeletionTimestamp == nil {
				_, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType,
					runner.ReleasePatch(d.UID, rs.UID), metav1.PatchOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, err)
				}
			}
		case ref == nil && matches && d.DeletionTimestamp == nil && rs.DeletionTimestamp == nil:
			adopted, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType,
				runner.AdoptPatch(runner.ControllerRef(d, deploymentKind), rs.UID), metav1.PatchOptions{})
			if err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, err)
				}
				continue
			}
			out = append(out, adopted)
		}
	}
	return out, errors.Join(errs...)
}

// findNew returns the oldest ReplicaSet whose template is d's.
func findNew(d *appsv1.Deployment, all []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := append([]*appsv1.ReplicaSet(nil), all...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	for _, rs := range sorted {
		if sameTemplate(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

func split(d *appsv1.Deployment, all []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	newRS := findNew(d, all)
	var olds []*appsv1.ReplicaSet
	for _, rs := range all {
		if newRS == nil || rs.UID != newRS.UID {
			olds = append(olds, rs)
		}
	}
	return newRS, olds
}

// Revision returns the revision annotation of an object (0 when absent).
func Revision(m metav1.Object) int64 {
	v, err := strconv.ParseInt(m.GetAnnotations()[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		m = max(m, Revision(rs))
	}
	return m
}

func replicas[T interface {
	*appsv1.Deployment | *appsv1.ReplicaSet
}](o T) int32 {
	var p *int32
	switch x := any(o).(type) {
	case *appsv1.Deployment:
		p = x.Spec.Replicas
	case *appsv1.ReplicaSet:
		p = x.Spec.Replicas
	}
	if p == nil {
		return 1
	}
	return *p
}

func activeCount(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += replicas(rs)
	}
	return n
}

// bounds returns maxSurge and maxUnavailable as absolute pod counts.
func bounds(d *appsv1.Deployment) (surge, unavailable int32) {
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return 0, replicas(d)
	}
	def := intstr.FromString("25%")
	s, u := &def, &def
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			s = ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			u = ru.MaxUnavailable
		}
	}
	want := int(replicas(d))
	sv, err1 := intstr.GetScaledValueFromIntOrPercent(s, want, true)
	uv, err2 := intstr.GetScaledValueFromIntOrPercent(u, want, false)
	if err1 != nil || err2 != nil {
		return 0, 1
	}
	if uv > want {
		uv = want
	}
	if sv == 0 && uv == 0 {
		uv = 1
	}
	return int32(sv), int32(uv)
}

// ensureNewReplicaSet creates the ReplicaSet of d's template when missing
// and keeps the revision annotations of it and of d current.
func (c *controller) ensureNewReplicaSet(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, bool, error) {
	revision := strconv.FormatInt(maxRevision(olds)+1, 10)
	surge, _ := bounds(d)
	if newRS != nil {
		want := newRS.DeepCopy()
		if Revision(want) < maxRevision(olds)+1 {
			if want.Annotations == nil {
				want.Annotations = map[string]string{}
			}
			want.Annotations[RevisionAnnotation] = revision
		}
		want.Annotations = c.copyAnnotations(d, want.Annotations, surge)
		if !equality.Semantic.DeepEqual(want.Annotations, newRS.Annotations) || want.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			want.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			updated, err := c.client.AppsV1().ReplicaSets(want.Namespace).Update(ctx, want, metav1.UpdateOptions{})
			if err != nil {
				return nil, false, fmt.Errorf("updating the revision of %s: %w", newRS.Name, err)
			}
			newRS = updated
		}
		return newRS, false, c.setDeploymentRevision(ctx, d, newRS.Annotations[RevisionAnnotation])
	}
	hash := PodTemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	template := d.Spec.Template.DeepCopy()
	template.Labels = withLabel(template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	selector := d.Spec.Selector.DeepCopy()
	selector.MatchLabels = withLabel(selector.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	zero := int32(0)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ReplicaSetName(d.Name, hash),
			Namespace:       d.Namespace,
			Labels:          template.Labels,
			Annotations:     c.copyAnnotations(d, map[string]string{RevisionAnnotation: revision}, surge),
			OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(d, deploymentKind)},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, MinReadySeconds: d.Spec.MinReadySeconds, Selector: selector, Template: *template},
	}
	created, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := c.client.AppsV1().ReplicaSets(d.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if getErr != nil {
			return nil, false, getErr
		}
		if ref := metav1.GetControllerOfNoCopy(existing); ref != nil && ref.UID == d.UID && sameTemplate(&existing.Spec.Template, &d.Spec.Template) {
			return existing, false, nil
		}
		// A hash collision: count it so the next hash differs.
		cp := d.DeepCopy()
		n := int32(1)
		if cp.Status.CollisionCount != nil {
			n = *cp.Status.CollisionCount + 1
		}
		cp.Status.CollisionCount = &n
		if _, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("ReplicaSet name %s collides with an unrelated ReplicaSet; collision count now %d", rs.Name, n)
	}
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.reportCreateError(ctx, d, rs.Name, err)
		}
		return nil, false, fmt.Errorf("creating ReplicaSet %s: %w", rs.Name, err)
	}
	return created, true, c.setDeploymentRevision(ctx, d, revision)
}

// reportCreateError tells of a new ReplicaSet the API server did not create, as Kubernetes'
// Deployment controller does: a Warning Event ReplicaSetCreateError and, when the Deployment
// has a progress deadline, Progressing=False with that reason (written at once; the failed
// reconcile is retried either way).
func (c *controller) reportCreateError(ctx context.Context, d *appsv1.Deployment, name string, err error) {
	msg := fmt.Sprintf("Failed to create new replica set %q: %v", name, err)
	if d.Spec.ProgressDeadlineSeconds != nil {
		cp := d.DeepCopy()
		setCondition(&cp.Status, appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonReplicaSetCreateError, msg, metav1.NewTime(c.ctx.Clock.Now()))
		// The create's error is what the reconcile reports; a failed status write adds nothing.
		_, _ = c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	}
	c.ctx.Eventf(d, corev1.EventTypeWarning, ReasonReplicaSetCreateError, "%s", msg)
}

// replicaFailure returns the ReplicaFailure condition a Deployment reports: the new ReplicaSet's,
// else the first old one's that has one (Kubernetes' getReplicaFailures), as a Deployment
// condition; nil when none has.
func replicaFailure(newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) *appsv1.DeploymentCondition {
	for _, rs := range append(nonNil(newRS), all...) {
		for _, rc := range rs.Status.Conditions {
			if rc.Type == appsv1.ReplicaSetReplicaFailure {
				return &appsv1.DeploymentCondition{
					Type: appsv1.DeploymentReplicaFailure, Status: rc.Status, Reason: rc.Reason, Message: rc.Message,
					LastUpdateTime: rc.LastTransitionTime, LastTransitionTime: rc.LastTransitionTime,
				}
			}
		}
	}
	return nil
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// copyAnnotations puts d's own annotations (such as kubernetes.io/change-cause)
// and the desired/max replica annotations on a ReplicaSet's annotations.
func (c *controller) copyAnnotations(d *appsv1.Deployment, into map[string]string, surge int32) map[string]string {
	out := maps.Clone(into)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range d.Annotations {
		switch k {
		case lastAppliedAnnotation, RevisionAnnotation, revisionHistoryAnnotation, DesiredReplicasAnnotation, MaxReplicasAnnotation:
			continue
		}
		out[k] = v
	}
	out[DesiredReplicasAnnotation] = strconv.Itoa(int(replicas(d)))
	out[MaxReplicasAnnotation] = strconv.Itoa(int(replicas(d) + surge))
	return out
}

func (c *controller) setDeploymentRevision(ctx context.Context, d *appsv1.Deployment, revision string) error {
	if revision == "" || d.Annotations[RevisionAnnotation] == revision {
		return nil
	}
	cp := d.DeepCopy()
	if cp.Annotations == nil {
		cp.Annotations = map[string]string{}
	}
	cp.Annotations[RevisionAnnotation] = revision
	updated, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("annotating the revision of deployment %s: %w", d.Name, err)
	}
	*d = *updated
	return nil
}

// scale sets rs's replicas (and its desired/max annotations).
func (c *controller) scale(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet, n int32) (*appsv1.ReplicaSet, error) {
	surge, _ := bounds(d)
	cp := rs.DeepCopy()
	cp.Spec.Replicas = &n
	cp.Annotations = c.copyAnnotations(d, cp.Annotations, surge)
	if replicas(rs) == n && equality.Semantic.DeepEqual(cp.Annotations, rs.Annotations) {
		return rs, nil
	}
	updated, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("scaling ReplicaSet %s to %d: %w", rs.Name, n, err)
	}
	if from := replicas(rs); from != n {
		op := "up"
		if n < from {
			op = "down"
		}
		c.ctx.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, rs.Name, from, n)
	}
	return updated, nil
}

// rollingUpdate takes one step of a RollingUpdate: scale the new ReplicaSet
// up within maxSurge, then old ones down within maxUnavailable.
func (c *controller) rollingUpdate(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) (bool, error) {
	want := replicas(d)
	surge, unavailable := bounds(d)
	scaled := false
	// New ReplicaSet up (or down, after a scale-down of the Deployment).
	cur := replicas(newRS)
	target := cur
	switch {
	case cur > want:
		target = want
	case cur < want:
		total := activeCount(olds) + cur
		if room := want + surge - total; room > 0 {
			target = cur + min(room, want-cur)
		}
	}
	if target != cur {
		rs, err := c.scale(ctx, d, newRS, target)
		if err != nil {
			return false, err
		}
		*newRS = *rs
		scaled = true
	}
	if activeCount(olds) == 0 {
		return scaled, nil
	}
	// Old ReplicaSets down, never below minAvailable available pods.
	minAvailable := want - unavailable
	newUnavailable := replicas(newRS) - newRS.Status.AvailableReplicas
	allPods := activeCount(olds) + replicas(newRS)
	maxScaleDown := allPods - minAvailable - newUnavailable
	if maxScaleDown <= 0 {
		return scaled, nil
	}
	sortOldestFirst(olds)
	// First remove old pods that are not available: that costs nothing.
	for i, rs := range olds {
		if maxScaleDown <= 0 {
			break
		}
		unhealthy := replicas(rs) - rs.Status.AvailableReplicas
		if unhealthy <= 0 || replicas(rs) == 0 {
			continue
		}
		down := min(unhealthy, maxScaleDown)
		updated, err := c.scale(ctx, d, rs, replicas(rs)-down)
		if err != nil {
			return scaled, err
		}
		olds[i] = updated
		maxScaleDown -= down
		scaled = true
	}
	// Then available old pods, as far as availability allows.
	var available int32
	for _, rs := range append(olds, newRS) {
		available += min(rs.Status.AvailableReplicas, replicas(rs))
	}
	budget := min(available-minAvailable, maxScaleDown)
	for i, rs := range olds {
		if budget <= 0 {
			break
		}
		if replicas(rs) == 0 {
			continue
		}
		down := min(replicas(rs), budget)
		updated, err := c.scale(ctx, d, rs, replicas(rs)-down)
		if err != nil {
			return scaled, err
		}
		olds[i] = updated
		budget -= down
		scaled = true
	}
	return scaled, nil
}

// recreate scales every old ReplicaSet to zero, waits until their pods are
// gone, then scales the new one up.
func (c *controller) recreate(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) (bool, error) {
	scaled := false
	for i, rs := range olds {
		if replicas(rs) != 0 {
			updated, err := c.scale(ctx, d, rs, 0)
			if err != nil {
				return scaled, err
			}
			olds[i] = updated
			scaled = true
		}
	}
	if scaled {
		return true, nil
	}
	for _, rs := range olds {
		if rs.Status.Replicas > 0 {
			return false, nil
		}
		pods, err := c.podLister.Pods(rs.Namespace).List(labels.Everything())
		if err != nil {
			return false, err
		}
		for _, p := range pods {
			if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.UID == rs.UID &&
				p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				return false, nil
			}
		}
	}
	if replicas(newRS) != replicas(d) {
		rs, err := c.scale(ctx, d, newRS, replicas(d))
		if err != nil {
			return false, err
		}
		*newRS = *rs
		return true, nil
	}
	return false, nil
}

func sortOldestFirst(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		ri, rj := Revision(rss[i]), Revision(rss[j])
		if ri != rj {
			return ri < rj
		}
		return rss[i].CreationTimestamp.Before(&rss[j].CreationTimestamp)
	})
}

// cleanup deletes the oldest empty old ReplicaSets beyond
// revisionHistoryLimit.
func (c *controller) cleanup(ctx context.Context, d *appsv1.Deployment, olds []*appsv1.ReplicaSet) error {
	limit := int32(10)
	if d.Spec.RevisionHistoryLimit != nil {
		limit = *d.Spec.RevisionHistoryLimit
	}
	var empty []*appsv1.ReplicaSet
	for _, rs := range olds {
		if replicas(rs) == 0 && rs.Status.Replicas == 0 && rs.DeletionTimestamp == nil {
			empty = append(empty, rs)
		}
	}
	excess := len(empty) - int(limit)
	if excess <= 0 {
		return nil
	}
	sortOldestFirst(empty)
	for _, rs := range empty[:excess] {
		uid := rs.UID
		err := c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting old ReplicaSet %s: %w", rs.Name, err)
		}
	}
	return nil
}

// writeStatus computes d's status from its ReplicaSets and writes it when
// it changed.
func (c *controller) writeStatus(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet, progressed bool) error {
	now := metav1.NewTime(c.ctx.Clock.Now())
	want := replicas(d)
	_, unavailable := bounds(d)
	st := appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		CollisionCount:     d.Status.CollisionCount,
		Conditions:         append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	for _, rs := range all {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if newRS != nil {
		st.UpdatedReplicas = newRS.Status.Replicas
	}
	st.UnavailableReplicas = max(0, want-st.AvailableReplicas)
	if st.AvailableReplicas >= want-unavailable {
		setCondition(&st, appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumAvailable, "Deployment has minimum availability.", now)
	} else {
		setCondition(&st, appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumUnavailable, "Deployment does not have minimum availability.", now)
	}
	complete := newRS != nil && st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want &&
		replicas(newRS) == want && newRS.Status.ObservedGeneration >= newRS.Generation
	rsName := ""
	if newRS != nil {
		rsName = newRS.Name
	}
	prev := condition(d.Status.Conditions, appsv1.DeploymentProgressing)
	countsMoved := st.Replicas != d.Status.Replicas || st.UpdatedReplicas != d.Status.UpdatedReplicas ||
		st.ReadyReplicas != d.Status.ReadyReplicas || st.AvailableReplicas != d.Status.AvailableReplicas
	switch {
	case d.Spec.Paused:
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", now)
	case complete:
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetReady,
			fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName), now)
	case progressed || countsMoved || prev == nil || prev.Reason == ReasonNewReplicaSetReady || prev.Reason == ReasonPaused ||
		d.Status.ObservedGeneration != d.Generation:
		if prev != nil && prev.Reason == ReasonProgressDeadline && !progressed && !countsMoved && d.Status.ObservedGeneration == d.Generation {
			break
		}
		reason, msg := ReasonReplicaSetUpdated, fmt.Sprintf("ReplicaSet %q is progressing.", rsName)
		if prev == nil || prev.Reason == ReasonNewReplicaSetReady {
			reason, msg = ReasonNewReplicaSetCreated, fmt.Sprintf("Created new replica set %q", rsName)
			if !progressed {
				reason, msg = ReasonFoundNewReplicaSet, fmt.Sprintf("Found new replica set %q", rsName)
			}
		}
		forceCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionTrue, reason, msg, now)
	case prev.Status == corev1.ConditionTrue && d.Spec.ProgressDeadlineSeconds != nil:
		deadline := prev.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second)
		if !now.Time.Before(deadline) {
			setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonProgressDeadline,
				fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName), now)
		}
	}
	if !d.Spec.Paused && d.DeletionTimestamp == nil {
		// The ReplicaSets' failures to create or delete pods show on the Deployment.
		f, cur := replicaFailure(newRS, all), condition(st.Conditions, appsv1.DeploymentReplicaFailure)
		switch {
		case f == nil && cur != nil:
			st.Conditions = slices.DeleteFunc(st.Conditions, func(c appsv1.DeploymentCondition) bool {
				return c.Type == appsv1.DeploymentReplicaFailure
			})
		case f != nil && cur == nil:
			st.Conditions = append(st.Conditions, *f)
		case f != nil && (cur.Status != f.Status || cur.Reason != f.Reason):
			*cur = *f
		}
	}
	if equality.Semantic.DeepEqual(st, d.Status) {
		return nil
	}
	cp := d.DeepCopy()
	cp.Status = st
	_, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// Our cache lags: write the same status on the latest version when
		// its spec is the one this status was computed for.
		latest, getErr := c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(getErr) {
			return nil
		}
		if getErr != nil {
			return fmt.Errorf("re-reading deployment %s: %w", d.Name, getErr)
		}
		if latest.UID != d.UID || latest.Generation != d.Generation {
			return err
		}
		latest.Status = st
		_, err = c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, latest, metav1.UpdateOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("updating status of deployment %s: %w", d.Name, err)
	}
	return nil
}

// deadlineRequeue asks for d again when its progress deadline passes.
func (c *controller) deadlineRequeue(d *appsv1.Deployment) interfaces.ReconcileResult {
	if d.Spec.ProgressDeadlineSeconds == nil || d.Spec.Paused {
		return interfaces.ReconcileResult{}
	}
	cond := condition(d.Status.Conditions, appsv1.DeploymentProgressing)
	if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason == ReasonNewReplicaSetReady {
		return interfaces.ReconcileResult{}
	}
	left := cond.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds)*time.Second).Sub(c.ctx.Clock.Now()) + time.Second
	if left < time.Second {
		left = time.Second
	}
	return interfaces.ReconcileResult{RequeueAfter: left}
}

func condition(conds []appsv1.DeploymentCondition, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// setCondition sets a condition; lastTransitionTime moves only when the
// status changes, lastUpdateTime when anything does.
func setCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string, now metav1.Time) {
	if cur := condition(st.Conditions, t); cur != nil {
		if cur.Status == status && cur.Reason == reason && cur.Message == msg {
			return
		}
		if cur.Status != status {
			cur.LastTransitionTime = now
		}
		cur.Status, cur.Reason, cur.Message, cur.LastUpdateTime = status, reason, msg, now
		return
	}
	st.Conditions = append(st.Conditions, appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now})
}

// forceCondition is setCondition that also moves lastUpdateTime when
// nothing else changed: progress renews the deadline.
func forceCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string, now metav1.Time) {
	setCondition(st, t, status, reason, msg, now)
	condition(st.Conditions, t).LastUpdateTime = now
}
