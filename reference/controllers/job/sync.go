package job

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Condition reasons and messages, as Kubernetes writes them.
const (
	msgCompleted    = "Reached expected number of succeeded pods"
	msgBackoffLimit = "Job has reached the specified backoff limit"
	msgDeadline     = "Job was active longer than specified deadline"
)

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func isActive(p *corev1.Pod) bool { return !isTerminal(p) && p.DeletionTimestamp == nil }

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// onlyReplaceFailed reports whether a deleted pod waits for its Failed phase before it counts
// (podReplacementPolicy Failed, implied by a podFailurePolicy).
func onlyReplaceFailed(j *batchv1.Job) bool {
	return j.Spec.PodFailurePolicy != nil ||
		(j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed)
}

// podFailed reports whether a pod counts as failed: its phase is Failed, or (unless only Failed
// pods are replaced) it is being deleted before it succeeded.
func podFailed(p *corev1.Pod, j *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailed(j) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

func indexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

func suspended(j *batchv1.Job) bool { return j.Spec.Suspend != nil && *j.Spec.Suspend }

func findCondition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

// setCondition sets a condition's status, reason and message; it reports a change.
func setCondition(j *batchv1.Job, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) bool {
	if c := findCondition(j, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == msg {
			return false
		}
		if c.Status != status {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = status, reason, msg, metav1.NewTime(now)
		return true
	}
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{
		Type: t, Status: status, Reason: reason, Message: msg,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	})
	return true
}

// ending is the end a Job is heading to: the interim condition (FailureTarget or
// SuccessCriteriaMet) and the terminal one it becomes once no pod is left.
type ending struct {
	interim, final batchv1.JobConditionType
	reason, msg    string
}

func (e *ending) failure() bool { return e != nil && e.final == batchv1.JobFailed }

// sync is one pass over a Job that has not finished.
func (c *controller) sync(ctx context.Context, key string, j *batchv1.Job, pods []*corev1.Pod, satisfied bool) (interfaces.ReconcileResult, error) {
	now := c.rc.Clock.Now()
	var res interfaces.ReconcileResult
	st := &j.Status
	old := st.DeepCopy()
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	if st.StartTime == nil && !suspended(j) {
		st.StartTime = ptr.To(metav1.NewTime(now))
	}
	uncSucceeded := uidSet(st.UncountedTerminatedPods.Succeeded)
	uncFailed := uidSet(st.UncountedTerminatedPods.Failed)

	var active []*corev1.Pod
	var terminating int32
	var newSucceeded, newFailed []*corev1.Pod
	var failJob string
	completions := 0
	if j.Spec.Completions != nil {
		completions = int(*j.Spec.Completions)
	}
	for _, p := range pods {
		switch {
		case isActive(p):
			active = append(active, p)
		case !isTerminal(p):
			terminating++
		}
		if !hasFinalizer(p) || c.exp.removingFinalizer(p.UID) || uncSucceeded[p.UID] || uncFailed[p.UID] {
			continue
		}
		if indexed(j) && (podIndex(p) == noIndex || podIndex(p) >= completions) && isTerminal(p) {
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			newSucceeded = append(newSucceeded, p)
		case podFailed(p, j):
			action, msg := matchFailurePolicy(j.Spec.PodFailurePolicy, p)
			if action != nil && *action == batchv1.PodFailurePolicyActionFailJob && failJob == "" {
				failJob = msg
			}
			newFailed = append(newFailed, p)
		}
	}
	countsFailed := func(p *corev1.Pod) bool {
		action, _ := matchFailurePolicy(j.Spec.PodFailurePolicy, p)
		return action == nil || *action != batchv1.PodFailurePolicyActionIgnore
	}
	failedNow := 0
	for _, p := range newFailed {
		if countsFailed(p) {
			failedNow++
		}
	}
	failed := int(st.Failed) + len(uncFailed) + failedNow
	if failedNow > 0 {
		c.mu.Lock()
		c.lastFailure[j.UID] = now
		c.mu.Unlock()
	}

	// Completed indexes, or the succeeded count.
	ix := &indexes{}
	succeeded := int(st.Succeeded) + len(uncSucceeded) + len(newSucceeded)
	if indexed(j) {
		done := parseIndexes(st.CompletedIndexes, completions)
		ix.done = done
		for _, p := range pods {
			if p.Status.Phase == corev1.PodSucceeded && hasFinalizer(p) {
				if i := podIndex(p); i != noIndex && i < completions {
					done[i] = true
				}
			}
		}
		succeeded = len(done)
		if perIndex(j) {
			trackIndexFailures(j, pods, ix, completions, now)
		}
	}

	// Where the Job is heading.
	var end *ending
	if c := findCondition(j, batchv1.JobSuccessCriteriaMet); c != nil && c.Status == corev1.ConditionTrue {
		end = &ending{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete, c.Reason, c.Message}
	} else if c := findCondition(j, batchv1.JobFailureTarget); c != nil && c.Status == corev1.ConditionTrue {
		end = &ending{batchv1.JobFailureTarget, batchv1.JobFailed, c.Reason, c.Message}
	} else if failJob != "" {
		end = &ending{batchv1.JobFailureTarget, batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy, failJob}
	} else if j.Spec.BackoffLimit != nil && failed > int(*j.Spec.BackoffLimit) {
		end = &ending{batchv1.JobFailureTarget, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit}
	} else if j.Spec.ActiveDeadlineSeconds != nil && st.StartTime != nil && !suspended(j) {
		left := time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(st.StartTime.Time)
		if left <= 0 {
			end = &ending{batchv1.JobFailureTarget, batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, msgDeadline}
		} else {
			res.RequeueAfter = left
		}
	}

	if end == nil && perIndex(j) {
		switch {
		case j.Spec.MaxFailedIndexes != nil && len(ix.failed) > int(*j.Spec.MaxFailedIndexes):
			end = &ending{batchv1.JobFailureTarget, batchv1.JobFailed, batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes}
		case len(ix.failed) > 0 && len(ix.failed)+len(ix.done) >= completions:
			end = &ending{batchv1.JobFailureTarget, batchv1.JobFailed, batchv1.JobReasonFailedIndexes, msgFailedIndexes}
		}
	}
	if end == nil && indexed(j) {
		if msg, ok := matchSuccessPolicy(j.Spec.SuccessPolicy, completions, ix.done); ok {
			end = &ending{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete, batchv1.JobReasonSuccessPolicy, msg}
		}
	}

	var manageErr error
	if end != nil {
		// Ending: no pod may stay active.
		if len(active) > 0 {
			manageErr = c.deletePods(ctx, j, key, active)
			terminating += int32(len(active))
		}
		active = nil
	} else {
		if satisfied && j.DeletionTimestamp == nil {
			var wait time.Duration
			active, wait, manageErr = c.manage(ctx, j, key, active, ix, succeeded, failed, now)
			res.RequeueAfter = minPositive(res.RequeueAfter, wait)
		}
		complete := false
		if j.Spec.Completions == nil {
			complete = succeeded > 0 && len(active) == 0
		} else {
			complete = succeeded >= completions && len(active) == 0
		}
		switch {
		case complete:
			end = &ending{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete, batchv1.JobReasonCompletionsReached, msgCompleted}
		case satisfied && suspended(j):
			if setCondition(j, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now) {
				st.StartTime = nil
				c.rc.Eventf(j, corev1.EventTypeNormal, "Suspended", "Job suspended")
			}
		case satisfied:
			if sc := findCondition(j, batchv1.JobSuspended); sc != nil && sc.Status == corev1.ConditionTrue {
				setCondition(j, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now)
				st.StartTime = ptr.To(metav1.NewTime(now))
				c.rc.Eventf(j, corev1.EventTypeNormal, "Resumed", "Job resumed")
			}
		}
	}
	if end != nil {
		setCondition(j, end.interim, corev1.ConditionTrue, end.reason, end.msg, now)
	}

	// Pods to count: finished ones, and (when the Job fails) every pod left.
	var release []*corev1.Pod
	for _, p := range pods {
		if !hasFinalizer(p) || c.exp.removingFinalizer(p.UID) {
			continue
		}
		switch {
		case end != nil || p.Status.Phase == corev1.PodSucceeded:
			release = append(release, p)
		case podFailed(p, j):
			release = append(release, p)
		}
		if uncSucceeded[p.UID] || uncFailed[p.UID] {
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			if !indexed(j) {
				st.UncountedTerminatedPods.Succeeded = append(st.UncountedTerminatedPods.Succeeded, p.UID)
			}
		case podFailed(p, j) || end.failure():
			if indexed(j) && (podIndex(p) == noIndex || podIndex(p) >= completions) {
				continue
			}
			if countsFailed(p) {
				st.UncountedTerminatedPods.Failed = append(st.UncountedTerminatedPods.Failed, p.UID)
			}
		}
	}
	if indexed(j) {
		st.CompletedIndexes = formatIndexes(ix.done)
		st.Succeeded = int32(len(ix.done))
		if perIndex(j) {
			st.FailedIndexes = ptr.To(formatIndexes(ix.failed))
		}
	}
	st.Active = int32(len(active))
	ready := int32(0)
	for _, p := range active {
		if isReady(p) {
			ready++
		}
	}
	st.Ready = &ready
	st.Terminating = &terminating

	// 1. Record what is about to be counted; 2. drop the finalizers; 3. count.
	var err error
	if j, err = c.writeStatus(ctx, j, old); err != nil {
		return res, errors.Join(manageErr, err)
	}
	removed, rmErr := c.removeFinalizers(ctx, release)
	st = &j.Status
	old = st.DeepCopy()
	withFinalizer := map[types.UID]bool{}
	for _, p := range pods {
		if hasFinalizer(p) && !removed[p.UID] && !c.exp.removingFinalizer(p.UID) {
			withFinalizer[p.UID] = true
		}
	}
	unc := st.UncountedTerminatedPods
	unc.Succeeded, st.Succeeded = countOff(unc.Succeeded, withFinalizer, st.Succeeded, indexed(j))
	unc.Failed, st.Failed = countOff(unc.Failed, withFinalizer, st.Failed, false)
	if indexed(j) {
		st.Succeeded = int32(len(ix.done))
	}
	if end != nil && len(unc.Succeeded) == 0 && len(unc.Failed) == 0 && terminating == 0 && satisfied && manageErr == nil {
		setCondition(j, end.final, corev1.ConditionTrue, end.reason, end.msg, now)
		if end.final == batchv1.JobComplete {
			st.CompletionTime = ptr.To(metav1.NewTime(now))
		}
	}
	newJob, err := c.writeStatus(ctx, j, old)
	if err == nil && finished(newJob) && !finished(&batchv1.Job{Status: *old}) {
		if end.final == batchv1.JobComplete {
			c.rc.Eventf(newJob, corev1.EventTypeNormal, "Completed", "Job completed")
		} else {
			c.rc.Eventf(newJob, corev1.EventTypeWarning, end.reason, "%s", end.msg)
		}
	}
	if end != nil && terminating > 0 {
		// Deleted pods finish on their own time; look again.
		res.RequeueAfter = minPositive(res.RequeueAfter, time.Second)
	}
	return res, errors.Join(manageErr, rmErr, err)
}

// countOff moves the uids whose pod no longer holds the finalizer from an uncounted list to
// its counter (indexed succeeded pods are counted by index instead).
func countOff(uids []types.UID, withFinalizer map[types.UID]bool, counter int32, byIndex bool) ([]types.UID, int32) {
	var left []types.UID
	for _, u := range uids {
		if withFinalizer[u] {
			left = append(left, u)
			continue
		}
		if !byIndex {
			counter++
		}
	}
	return left, counter
}

func uidSet(uids []types.UID) map[types.UID]bool {
	out := make(map[types.UID]bool, len(uids))
	for _, u := range uids {
		out[u] = true
	}
	return out
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// writeStatus writes j's status when it differs from old and returns the Job as stored.
func (c *controller) writeStatus(ctx context.Context, j *batchv1.Job, old *batchv1.JobStatus) (*batchv1.Job, error) {
	if apiequality.Semantic.DeepEqual(&j.Status, old) {
		return j, nil
	}
	out, err := c.client.BatchV1().Jobs(j.Namespace).UpdateStatus(ctx, j, metav1.UpdateOptions{})
	if err != nil {
		return j, fmt.Errorf("updating the status of Job %s/%s: %w", j.Namespace, j.Name, err)
	}
	return out, nil
}

// backoffLeft is how long to wait before replacing failed pods: DefaultBackoff doubling per
// failure (at most MaxBackoff) after the last counted failure.
func (c *controller) backoffLeft(j *batchv1.Job, failed int, now time.Time) time.Duration {
	if failed <= 0 {
		return 0
	}
	c.mu.Lock()
	last, ok := c.lastFailure[j.UID]
	c.mu.Unlock()
	if !ok {
		return 0
	}
	delay := DefaultBackoff
	for i := 1; i < failed && delay < MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, MaxBackoff)
	return last.Add(delay).Sub(now)
}

// manage creates and deletes pods so that the right number is active; it returns the pods
// active afterwards and how long a backoff holds creations.
func (c *controller) manage(ctx context.Context, j *batchv1.Job, key string, active []*corev1.Pod, ix *indexes, succeeded, failed int, now time.Time) ([]*corev1.Pod, time.Duration, error) {
	if suspended(j) {
		if len(active) == 0 {
			return nil, 0, nil
		}
		return nil, 0, c.deletePods(ctx, j, key, active)
	}
	parallelism := 0
	if j.Spec.Parallelism != nil {
		parallelism = int(*j.Spec.Parallelism)
	}
	var del []*corev1.Pod
	var create []int // indexes (noIndex for NonIndexed pods)
	var wait time.Duration
	if indexed(j) {
		completions := int(*j.Spec.Completions)
		byIndex := map[int][]*corev1.Pod{}
		for _, p := range active {
			i := podIndex(p)
			if i == noIndex || i >= completions || ix.done[i] || ix.failed[i] {
				del = append(del, p)
				continue
			}
			byIndex[i] = append(byIndex[i], p)
		}
		var keep []*corev1.Pod
		for _, ps := range byIndex {
			olderFirst(ps)
			keep = append(keep, ps[0])
			del = append(del, ps[1:]...)
		}
		if len(keep) > parallelism {
			olderFirst(keep)
			del = append(del, keep[parallelism:]...)
			keep = keep[:parallelism]
		}
		for i := 0; i < completions && len(keep)+len(create) < parallelism; i++ {
			if ix.done[i] || ix.failed[i] || len(byIndex[i]) > 0 {
				continue
			}
			if perIndex(j) {
				if left := ix.backoffLeft(i, now); left > 0 {
					wait = minPositive(wait, left)
					continue
				}
			}
			create = append(create, i)
		}
		active = keep
	} else {
		want := parallelism
		switch {
		case j.Spec.Completions != nil:
			want = min(want, max(0, int(*j.Spec.Completions)-succeeded))
		case succeeded > 0:
			want = min(want, len(active))
		}
		if len(active) > want {
			olderFirst(active)
			del = append(del, active[want:]...)
			active = active[:want]
		}
		for range want - len(active) {
			create = append(create, noIndex)
		}
	}
	if len(create) > 0 && !perIndex(j) {
		if left := c.backoffLeft(j, failed, now); left > 0 {
			wait, create = left, nil
		}
	}
	if len(create) == 0 && len(del) == 0 {
		return active, wait, nil
	}
	delKeys := make([]string, len(del))
	for i, p := range del {
		delKeys[i] = podKey(p)
	}
	c.exp.Expect(key, len(create), delKeys)
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := make([]error, len(create)+len(del))
	for n, i := range create {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pod := newPod(j, i)
			if perIndex(j) && i != noIndex {
				pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(int(ix.failures[i]))
			}
			p, err := c.client.CoreV1().Pods(j.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				c.exp.CreationObserved(key)
				if !runner.CreateSettled(err) || apierrors.IsAlreadyExists(err) {
					errs[n] = fmt.Errorf("creating a pod of Job %s: %w", j.Name, err)
				}
				return
			}
			c.rc.Eventf(j, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", p.Name)
			mu.Lock()
			active = append(active, p)
			mu.Unlock()
		}()
	}
	for i, p := range del {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.deletePod(ctx, j, p); err != nil {
				c.exp.DeletionObserved(key, delKeys[i])
				if !apierrors.IsNotFound(err) {
					errs[len(create)+i] = err
				}
			}
		}()
	}
	wg.Wait()
	return active, wait, errors.Join(errs...)
}

// deletePods deletes pods (all of them active pods of j), expecting their deletions.
func (c *controller) deletePods(ctx context.Context, j *batchv1.Job, key string, pods []*corev1.Pod) error {
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = podKey(p)
	}
	c.exp.Expect(key, 0, keys)
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.deletePod(ctx, j, p); err != nil {
				c.exp.DeletionObserved(key, keys[i])
				if !apierrors.IsNotFound(err) {
					errs[i] = err
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *controller) deletePod(ctx context.Context, j *batchv1.Job, p *corev1.Pod) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		return fmt.Errorf("deleting pod %s of Job %s: %w", p.Name, j.Name, err)
	}
	c.rc.Eventf(j, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	return nil
}

// olderFirst orders pods oldest first (then by name).
func olderFirst(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, k int) bool {
		a, b := pods[i], pods[k]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// newPod is a pod of j's template: owned by j, with the tracking finalizer and, for an
// Indexed Job, its completion index.
func newPod(j *batchv1.Job, ix int) *corev1.Pod {
	t := j.Spec.Template.DeepCopy()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    j.Name + "-",
			Namespace:       j.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      append(t.Finalizers, batchv1.JobTrackingFinalizer),
			OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(j, jobKind)},
		},
		Spec: t.Spec,
	}
	if ix == noIndex {
		return p
	}
	s := strconv.Itoa(ix)
	p.GenerateName = fmt.Sprintf("%s-%d-", j.Name, ix)
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[batchv1.JobCompletionIndexAnnotation] = s
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[batchv1.JobCompletionIndexAnnotation] = s
	if p.Spec.Hostname == "" {
		p.Spec.Hostname = fmt.Sprintf("%s-%d", j.Name, ix)
	}
	env := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		FieldPath: fmt.Sprintf("metadata.annotations['%s']", batchv1.JobCompletionIndexAnnotation),
	}}}
	for i := range p.Spec.InitContainers {
		p.Spec.InitContainers[i].Env = append(p.Spec.InitContainers[i].Env, env)
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].Env = append(p.Spec.Containers[i].Env, env)
	}
	return p
}
