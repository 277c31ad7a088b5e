package daemonset

import (
	"context"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/clusterkit/clusterkit/reference/controllers/podstate"
)

// updateBudget returns how many nodes may be without an available daemon pod (maxUnavailable,
// default 1) and how many may run a second, surging pod (maxSurge) during a rolling update of
// desired nodes; percentages round up, and one of them is at least 1.
func updateBudget(ds *appsv1.DaemonSet, desired int) (maxUnavailable, maxSurge int) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	maxUnavailable = 1
	if ru != nil {
		if ru.MaxUnavailable != nil {
			if n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true); err == nil {
				maxUnavailable = n
			}
		}
		if ru.MaxSurge != nil {
			if n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true); err == nil {
				maxSurge = n
			}
		}
	}
	if maxUnavailable == 0 && maxSurge == 0 {
		maxUnavailable = 1
	}
	return maxUnavailable, maxSurge
}

// splitPods returns the oldest non-deleted pod of the current template and of an older one.
func splitPods(pods []*corev1.Pod, hash string) (updated, outdated *corev1.Pod) {
	sorted := append([]*corev1.Pod(nil), pods...)
	olderFirst(sorted)
	for _, p := range sorted {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		if p.Labels[HashLabel] == hash {
			if updated == nil {
				updated = p
			}
		} else if outdated == nil {
			outdated = p
		}
	}
	return updated, outdated
}

// rollingUpdate replaces pods of older templates: without surge it deletes old pods while
// fewer than maxUnavailable nodes lack an available daemon pod (unavailable old pods go at
// once); with surge it starts new pods beside old ones on at most maxSurge nodes and deletes
// each old pod once its replacement is available. It returns when to look again for pods
// becoming available (minReadySeconds).
func (c *controller) rollingUpdate(ctx context.Context, ds *appsv1.DaemonSet, key, hash string, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) (time.Duration, error) {
	now := c.rc.Clock.Now()
	minReady := time.Duration(ds.Spec.MinReadySeconds) * time.Second
	var eligible []*corev1.Node
	for _, n := range nodes {
		if run, _ := placement(ds, n); run {
			eligible = append(eligible, n)
		}
	}
	maxUnavailable, maxSurge := updateBudget(ds, len(eligible))
	var wait time.Duration
	available := func(p *corev1.Pod) bool {
		if p == nil {
			return false
		}
		if podstate.Available(p, minReady, now) {
			return true
		}
		if d := podstate.UntilAvailable(p, minReady, now); d > 0 {
			wait = minPositive(wait, d)
		}
		return false
	}
	var del []*corev1.Pod
	var create []string
	if maxSurge == 0 {
		unavailable := 0
		var candidates []*corev1.Pod
		for _, n := range eligible {
			updated, outdated := splitPods(byNode[n.Name], hash)
			switch {
			case outdated == nil:
				if !available(updated) {
					unavailable++
				}
			case !available(outdated):
				// Already unavailable: replacing it costs nothing.
				del = append(del, outdated)
				unavailable++
			default:
				candidates = append(candidates, outdated)
			}
		}
		for _, p := range candidates {
			if unavailable >= maxUnavailable {
				break
			}
			del = append(del, p)
			unavailable++
		}
		return wait, c.syncNodes(ctx, ds, key, hash, nil, del)
	}
	surging := 0
	var candidates []string
	for _, n := range eligible {
		updated, outdated := splitPods(byNode[n.Name], hash)
		switch {
		case outdated == nil:
		case updated == nil && !available(outdated):
			create = append(create, n.Name)
		case updated == nil:
			candidates = append(candidates, n.Name)
		case available(updated):
			del = append(del, outdated)
		default:
			surging++
		}
	}
	for _, n := range candidates {
		if surging >= maxSurge {
			break
		}
		create = append(create, n)
		surging++
	}
	return wait, c.syncNodes(ctx, ds, key, hash, create, del)
}

// updateStatus writes ds's status from its nodes and pods.
func (c *controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, hash string, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) (time.Duration, error) {
	now := c.rc.Clock.Now()
	minReady := time.Duration(ds.Spec.MinReadySeconds) * time.Second
	st := appsv1.DaemonSetStatus{
		ObservedGeneration: ds.Generation, CollisionCount: ds.Status.CollisionCount, Conditions: ds.Status.Conditions,
	}
	var wait time.Duration
	for _, n := range nodes {
		shouldRun, _ := placement(ds, n)
		pods := byNode[n.Name]
		if !shouldRun {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		sorted := append([]*corev1.Pod(nil), pods...)
		olderFirst(sorted)
		p := sorted[0]
		if podstate.Ready(p) {
			st.NumberReady++
			if podstate.Available(p, minReady, now) {
				st.NumberAvailable++
			} else if d := podstate.UntilAvailable(p, minReady, now); d > 0 {
				wait = minPositive(wait, d)
			}
		}
		if updated, _ := splitPods(pods, hash); updated != nil {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = max(st.DesiredNumberScheduled-st.NumberAvailable, 0)
	if reflect.DeepEqual(st, ds.Status) {
		return wait, nil
	}
	cp := ds.DeepCopy()
	cp.Status = st
	_, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		latest, getErr := c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(getErr) {
			return wait, nil
		}
		if getErr != nil {
			return wait, getErr
		}
		if latest.UID != ds.UID || latest.Generation != ds.Generation {
			return wait, err // a new spec: reconcile again from scratch
		}
		st.CollisionCount = latest.Status.CollisionCount
		latest.Status = st
		_, err = c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, latest, metav1.UpdateOptions{})
	}
	if apierrors.IsNotFound(err) {
		return wait, nil
	}
	return wait, err
}
