// Package job is the Job controller (kube-controller-manager's "job"): it runs a batch/v1 Job's
// pods to completion.
//
// Pods are made from spec.template with the Job as controller owner, the tracking finalizer
// batch.kubernetes.io/job-tracking and, for Indexed Jobs, the completion index (annotation and
// label batch.kubernetes.io/job-completion-index, hostname <job>-<index>, env
// JOB_COMPLETION_INDEX). At most spec.parallelism pods are active; a NonIndexed Job succeeds when
// spec.completions pods succeeded (or, without completions, when one succeeded and none is
// active), an Indexed Job when every index below completions has a succeeded pod.
//
// Finished pods are counted once: their UIDs go to status.uncountedTerminatedPods, their
// finalizers are removed, then they move to status.succeeded / status.failed. A pod deleted
// before it finished counts as failed (podReplacementPolicy TerminatingOrFailed). Failed pods are
// replaced after a backoff (10 s doubling, at most 6 min, on the manager's clock) until more than
// spec.backoffLimit failed; a podFailurePolicy may fail the Job at once (FailJob) or not count a
// failure (Ignore). Passing spec.activeDeadlineSeconds since status.startTime fails the Job
// (DeadlineExceeded). A Job first gets the interim condition FailureTarget or SuccessCriteriaMet,
// its remaining pods are deleted, and once none is left it gets Failed or Complete (with
// completionTime). spec.suspend deletes the active pods and sets the Suspended condition;
// resuming resets startTime.
package job
