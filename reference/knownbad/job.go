package knownbad

import (
	"context"
	"errors"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/job"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// RetryingForeverJob is a Job controller that ignores spec.backoffLimit: it replaces every
// failed pod at once, for ever, and a Job whose pods keep failing never fails.
func RetryingForeverJob() runner.Factory { return naiveJobFactory(false) }

// AllAtOnceJob is a Job controller that ignores spec.parallelism: it starts a pod for every
// remaining completion at once.
func AllAtOnceJob() runner.Factory { return naiveJobFactory(true) }

// maxNaiveJobPods bounds the pods the naive controller makes per Job, so that retrying for
// ever does not flood the API server during the known-bad test.
const maxNaiveJobPods = 50

func naiveJobFactory(allAtOnce bool) runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		jobInf := c.Informers.Batch().V1().Jobs()
		podInf := c.Informers.Core().V1().Pods()
		n := &naiveJob{client: c.Client, jobs: jobInf.Lister(), pods: podInf.Lister(), allAtOnce: allAtOnce}
		if _, err := jobInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		owner := func(obj any) {
			if ref := runner.ControllerOf(obj); ref != nil && ref.Kind == "Job" {
				if p, ok := runner.Unwrap(obj).(*corev1.Pod); ok {
					c.Queue.Add(p.Namespace + "/" + ref.Name)
				}
			}
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: owner, UpdateFunc: func(_, n any) { owner(n) }, DeleteFunc: owner,
		}); err != nil {
			return nil, err
		}
		return n, nil
	}
}

type naiveJob struct {
	client    kubernetes.Interface
	jobs      batchlisters.JobLister
	pods      corelisters.PodLister
	allAtOnce bool
}

func (n *naiveJob) Name() string { return job.Name }

func (n *naiveJob) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	j, err := n.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return interfaces.ReconcileResult{}, nil
		}
	}
	pods, err := n.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	var active, succeeded, failed, total int32
	for _, p := range pods {
		if ref := metav1.GetControllerOfNoCopy(p); ref == nil || ref.UID != j.UID {
			continue
		}
		total++
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			succeeded++
		case p.Status.Phase == corev1.PodFailed:
			failed++
		case p.DeletionTimestamp == nil:
			active++
		}
	}
	completions := int32(1)
	if j.Spec.Completions != nil {
		completions = *j.Spec.Completions
	}
	want := completions - succeeded
	if !n.allAtOnce && j.Spec.Parallelism != nil {
		want = min(want, *j.Spec.Parallelism)
	}
	var errs []error
	for range want - active {
		if total >= maxNaiveJobPods {
			break
		}
		t := j.Spec.Template.DeepCopy()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: j.Name + "-", Labels: t.Labels,
				OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))}},
			Spec: t.Spec,
		}
		if _, err := n.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			errs = append(errs, err)
			continue
		}
		total++
		active++
	}
	cp := j.DeepCopy()
	cp.Status.Active, cp.Status.Succeeded, cp.Status.Failed = active, succeeded, failed
	if cp.Status.StartTime == nil {
		cp.Status.StartTime = &metav1.Time{Time: cp.CreationTimestamp.Time}
	}
	if succeeded >= completions && active == 0 {
		now := metav1.Now()
		cp.Status.CompletionTime = &now
		cp.Status.Conditions = append(cp.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastTransitionTime: now},
			batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastTransitionTime: now})
	}
	if _, err := n.client.BatchV1().Jobs(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
		errs = append(errs, err)
	}
	return interfaces.ReconcileResult{}, errors.Join(errs...)
}
