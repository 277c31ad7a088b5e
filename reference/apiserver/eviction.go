package apiserver

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// maxDisruptedPods bounds a budget's status.disruptedPods, as kube-apiserver's eviction REST.
const maxDisruptedPods = 2000

// evictionBlockedMessage is kube-apiserver's message for an eviction a budget does not allow.
const evictionBlockedMessage = "Cannot evict pod as it would violate the pod's disruption budget."

var pdbsGVR = policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")

// admitEviction decides whether the pod may be evicted, as kube-apiserver's eviction REST: a
// terminal, pending or already deleting pod always may; otherwise the one PodDisruptionBudget
// whose selector matches it must allow a disruption, which the eviction then takes (its
// disruptionsAllowed decremented and the pod recorded in disruptedPods, unless dry). No budget
// means no limit; more than one is a 500. A blocked eviction is 429 TooManyRequests.
func (s *Server) admitEviction(ctx context.Context, pod *corev1.Pod, dry bool) error {
	pdbRes := s.registry().Lookup(pdbsGVR)
	if pdbRes == nil || canIgnoreBudget(pod) {
		return nil
	}
	lr, err := s.objects.List(ctx, pdbRes, pod.Namespace, storage.ListOptions{})
	if err != nil {
		return err
	}
	var budgets []*policyv1.PodDisruptionBudget
	for _, obj := range lr.Items {
		pdb, ok := obj.(*policyv1.PodDisruptionBudget)
		if !ok || pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		budgets = append(budgets, pdb)
	}
	switch len(budgets) {
	case 0:
		return nil
	case 1:
	default:
		return apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	pdb := budgets[0]
	if !podReady(pod) {
		// An unready pod does not count as healthy: AlwaysAllow lets it go, and so does
		// IfHealthyBudget while the budget has its healthy pods.
		if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && *p == policyv1.AlwaysAllow {
			return nil
		}
		if pdb.Status.DesiredHealthy > 0 && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy {
			return nil
		}
	}
	_, err = s.objects.Update(ctx, pdbRes, pdb.Namespace, pdb.Name, func(cur runtime.Object) (runtime.Object, error) {
		b, ok := cur.(*policyv1.PodDisruptionBudget)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("poddisruptionbudget %s: unexpected type %T", pdb.Name, cur))
		}
		if b.Status.ObservedGeneration < b.Generation {
			return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", b.Name))
		}
		if b.Status.DisruptionsAllowed < 0 {
			return nil, apierrors.NewForbidden(pdbRes.GroupResource(), b.Name, errors.New("pdb disruptions allowed is negative"))
		}
		if len(b.Status.DisruptedPods) > maxDisruptedPods {
			return nil, apierrors.NewForbidden(pdbRes.GroupResource(), b.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
		}
		if b.Status.DisruptionsAllowed == 0 {
			return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", b.Name, b.Status.DesiredHealthy, b.Status.CurrentHealthy))
		}
		if dry {
			return nil, errDryRun
		}
		b.Status.DisruptionsAllowed--
		if b.Status.DisruptionsAllowed == 0 {
			apimeta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{
				Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
				Reason: policyv1.InsufficientPodsReason, ObservedGeneration: b.Status.ObservedGeneration,
				LastTransitionTime: metav1.NewTime(s.now().UTC().Truncate(1e9)),
			})
		}
		if b.Status.DisruptedPods == nil {
			b.Status.DisruptedPods = map[string]metav1.Time{}
		}
		b.Status.DisruptedPods[pod.Name] = metav1.NewTime(s.now().UTC().Truncate(1e9))
		objectMeta(b).SetResourceVersion("")
		return b, nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// tooManyRequests is the 429 of a blocked eviction, with the budget's cause.
func tooManyRequests(cause string) error {
	err := apierrors.NewTooManyRequests(evictionBlockedMessage, 0)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// canIgnoreBudget: a pod that is terminal, pending or already being deleted is evicted
// whatever its budget says.
func canIgnoreBudget(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
