package ttlafterfinished

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's name).
const Name = "ttl-after-finished"

// New returns the factory of the TTL-after-finished controller.
func New() runner.Factory {
	return func(rc runner.Context) (interfaces.Controller, error) {
		inf := rc.Informers.Batch().V1().Jobs()
		c := &controller{rc: rc, jobs: inf.Lister()}
		if _, err := inf.Informer().AddEventHandler(runner.EnqueueSelf(rc.Queue)); err != nil {
			return nil, err
		}
		return c, nil
	}
}

type controller struct {
	rc   runner.Context
	jobs batchlisters.JobLister
}

func (c *controller) Name() string { return Name }

// FinishTime returns when j finished: its completionTime, else the last transition of its
// Complete or Failed condition; ok is false while it has not finished.
func FinishTime(j *batchv1.Job) (time.Time, bool) {
	var at time.Time
	ok := false
	for _, cond := range j.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			ok = true
			at = cond.LastTransitionTime.Time
		}
	}
	if !ok {
		return time.Time{}, false
	}
	if j.Status.CompletionTime != nil {
		at = j.Status.CompletionTime.Time
	}
	return at, true
}

// left is how long until j expires (<= 0: expired); ok is false when j has no TTL, has not
// finished or is being deleted.
func (c *controller) left(j *batchv1.Job) (time.Duration, bool) {
	if j.Spec.TTLSecondsAfterFinished == nil || j.DeletionTimestamp != nil {
		return 0, false
	}
	at, ok := FinishTime(j)
	if !ok {
		return 0, false
	}
	return at.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second).Sub(c.rc.Clock.Now()), true
}

// Reconcile deletes the Job of key once its TTL after finishing has passed.
func (c *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	j, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	left, ok := c.left(j)
	if !ok {
		return interfaces.ReconcileResult{}, nil
	}
	if left > 0 {
		return interfaces.ReconcileResult{RequeueAfter: left}, nil
	}
	// The cache may be behind (the TTL changed): decide on the live Job.
	live, err := c.rc.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, fmt.Errorf("reading Job %s: %w", key, err)
	}
	if left, ok = c.left(live); !ok {
		return interfaces.ReconcileResult{}, nil
	}
	if left > 0 {
		return interfaces.ReconcileResult{RequeueAfter: left}, nil
	}
	policy := metav1.DeletePropagationBackground
	err = c.rc.Client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &live.UID, ResourceVersion: &live.ResourceVersion},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, fmt.Errorf("deleting expired Job %s: %w", key, err)
	}
	return interfaces.ReconcileResult{}, nil
}
