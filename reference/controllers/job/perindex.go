package job

import (
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Messages of the per-index failure conditions, as Kubernetes writes them.
const (
	msgMaxFailedIndexes = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes    = "Job has failed indexes"
)

// indexes is what the controller knows of an Indexed Job's indexes.
type indexes struct {
	// done holds the completed indexes.
	done map[int]bool
	// failed holds the indexes that failed for good (backoffLimitPerIndex).
	failed map[int]bool
	// failures counts the failures of each index (the failure count its next pod carries).
	failures map[int]int32
	// lastFailure is when each index last failed.
	lastFailure map[int]time.Time
}

func perIndex(j *batchv1.Job) bool { return indexed(j) && j.Spec.BackoffLimitPerIndex != nil }

// failureCount is the batch.kubernetes.io/job-index-failure-count of a pod (0 without one).
func failureCount(p *corev1.Pod) int32 {
	n, err := strconv.Atoi(p.Annotations[batchv1.JobIndexFailureCountAnnotation])
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

// finishedAt is when a failed pod ended: the last container's finish, else its deletion.
func finishedAt(p *corev1.Pod, now time.Time) time.Time {
	var at time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.FinishedAt.After(at) {
			at = t.FinishedAt.Time
		}
	}
	if at.IsZero() && p.DeletionTimestamp != nil {
		at = p.DeletionTimestamp.Time
	}
	if at.IsZero() {
		at = now
	}
	return at
}

// trackIndexFailures fills the per-index failure state of a Job with backoffLimitPerIndex
// from its pods: an index fails for good when a pod of it fails with its failure count at the
// limit, or matches a FailIndex rule.
func trackIndexFailures(j *batchv1.Job, pods []*corev1.Pod, ix *indexes, completions int, now time.Time) {
	ix.failures, ix.lastFailure = map[int]int32{}, map[int]time.Time{}
	ix.failed = map[int]bool{}
	if j.Status.FailedIndexes != nil {
		ix.failed = parseIndexes(*j.Status.FailedIndexes, completions)
	}
	limit := *j.Spec.BackoffLimitPerIndex
	for _, p := range pods {
		i := podIndex(p)
		if i == noIndex || i >= completions || ix.done[i] {
			continue
		}
		n := failureCount(p)
		if podFailed(p, j) {
			action, _ := matchFailurePolicy(j.Spec.PodFailurePolicy, p)
			if action != nil && *action == batchv1.PodFailurePolicyActionIgnore {
				ix.failures[i] = max(ix.failures[i], n)
				continue
			}
			if (action != nil && *action == batchv1.PodFailurePolicyActionFailIndex) || n >= limit {
				ix.failed[i] = true
			}
			n++
			if at := finishedAt(p, now); at.After(ix.lastFailure[i]) {
				ix.lastFailure[i] = at
			}
		}
		ix.failures[i] = max(ix.failures[i], n)
	}
}

// indexBackoffLeft is how long index i waits before its next pod: DefaultBackoff doubling per
// failure of the index, at most MaxBackoff, after its last failure.
func (ix *indexes) backoffLeft(i int, now time.Time) time.Duration {
	n := ix.failures[i]
	if n <= 0 {
		return 0
	}
	delay := DefaultBackoff
	for k := int32(1); k < n && delay < MaxBackoff; k++ {
		delay *= 2
	}
	return ix.lastFailure[i].Add(min(delay, MaxBackoff)).Sub(now)
}
