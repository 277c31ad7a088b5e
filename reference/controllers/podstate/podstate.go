package podstate

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Active: not terminal and not being deleted; it counts towards replicas.
func Active(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// ReadyCondition returns the pod's Ready condition, or nil.
func ReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// Ready: the Ready condition is True.
func Ready(p *corev1.Pod) bool {
	c := ReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// Available: ready for at least minReady as of now (ready is enough when
// minReady is 0).
func Available(p *corev1.Pod, minReady time.Duration, now time.Time) bool {
	c := ReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReady <= 0 {
		return true
	}
	return !c.LastTransitionTime.IsZero() && !c.LastTransitionTime.Add(minReady).After(now)
}

// UntilAvailable is how long until a ready pod becomes available (0 when
// it is available or not ready).
func UntilAvailable(p *corev1.Pod, minReady time.Duration, now time.Time) time.Duration {
	c := ReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue || minReady <= 0 {
		return 0
	}
	if d := c.LastTransitionTime.Add(minReady).Sub(now); d > 0 {
		return d
	}
	return 0
}
