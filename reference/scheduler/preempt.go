package scheduler

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Event reason and action of a preemption, as kube-scheduler writes them on
// each victim.
const (
	reasonPreempted  = "Preempted"
	actionPreempting = "Preempting"
)

// preemptionNodes pairs the snapshot the pod was filtered against with the
// pods on each node, one for one. Callers hold the cache's lock.
func (r *run) preemptionNodes(snap []*interfaces.NodeInfo) []PreemptionNode {
	out := make([]PreemptionNode, len(snap))
	for i, n := range snap {
		if n != nil {
			out[i] = PreemptionNode{Info: n, Pods: n.PodList}
		}
	}
	return out
}

// pdbs lists the cluster's PodDisruptionBudgets from the informer.
func (r *run) pdbs() []*policyv1.PodDisruptionBudget {
	if r.pdbLister == nil {
		return nil
	}
	list, err := r.pdbLister.List(labels.Everything())
	if err != nil {
		return nil
	}
	return list
}

// terminatingByPreemption reports whether a pod is going because the
// scheduler preempted it: deleted, with DisruptionTarget=True reason
// PreemptionByScheduler.
func terminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

// waitingForVictims reports whether the pod, nominated to a node, must not
// preempt again: a lower-priority pod it preempted there is still
// terminating (its grace period). Callers hold the cache's lock.
func (r *run) waitingForVictims(pod *corev1.Pod, node string) bool {
	if node == "" {
		return false
	}
	n, ok := r.cache.nodes[node]
	if !ok {
		return false
	}
	prio := podPriority(pod)
	for _, p := range n.PodList {
		if podPriority(p) < prio && terminatingByPreemption(p) {
			return true
		}
	}
	return false
}

// nominatedOf is the node the pod is nominated to, in memory or in its
// status. Callers hold the cache's lock.
func (r *run) nominatedOf(pod *corev1.Pod) string {
	if n := r.cache.nominatedNode(pod); n != "" {
		return n
	}
	return pod.Status.NominatedNodeName
}

// actuate carries a preemption out, as kube-scheduler does: the preemptor's
// status gets nominatedNodeName (with PodScheduled=False), then each victim
// gets the DisruptionTarget condition (reason PreemptionByScheduler), is
// deleted with its own grace period, and gets a Preempted Event. The
// preemptor is retried when the victims are gone.
func (r *run) actuate(ctx context.Context, pod *corev1.Pod, c Candidate, message string) {
	r.recordFailedScheduling(pod, message)
	node := c.Node
	r.markUnschedulable(ctx, pod, message, &node)
	for _, v := range c.Victims {
		if ctx.Err() != nil {
			return
		}
		if err := r.preemptVictim(ctx, pod, v, c.Node); err != nil && ctx.Err() == nil {
			r.s.opts.Logf("scheduler: preempting %s/%s for %s/%s: %v", v.Namespace, v.Name, pod.Namespace, pod.Name, err)
		}
	}
}

// preemptVictim marks one victim and deletes it.
func (r *run) preemptVictim(ctx context.Context, preemptor, victim *corev1.Pod, node string) error {
	pods := r.client.CoreV1().Pods(victim.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, victim.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != victim.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), victim.Name)
		}
		cond := corev1.PodCondition{
			Type:               corev1.DisruptionTarget,
			Status:             corev1.ConditionTrue,
			Reason:             corev1.PodReasonPreemptionByScheduler,
			Message:            r.s.opts.SchedulerName + ": preempting to accommodate a higher priority pod",
			LastTransitionTime: metav1.Now(),
		}
		for i := range cur.Status.Conditions {
			if cur.Status.Conditions[i].Type == corev1.DisruptionTarget {
				if cur.Status.Conditions[i].Status == cond.Status && cur.Status.Conditions[i].Reason == cond.Reason {
					return nil
				}
				cur.Status.Conditions[i] = cond
				_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
				return err
			}
		}
		cur.Status.Conditions = append(cur.Status.Conditions, cond)
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil // already gone
	}
	if err != nil {
		return err
	}
	uid := victim.UID
	err = pods.Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return err
	}
	r.recorder.Eventf(victim, preemptor, corev1.EventTypeNormal, reasonPreempted, actionPreempting,
		"Preempted by pod %v on node %v", preemptor.UID, node)
	return nil
}
