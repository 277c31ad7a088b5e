package conformance

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const (
	srcJobs         = "Kubernetes: Jobs (kubernetes.io/docs/concepts/workloads/controllers/job)"
	srcJobFailure   = "Kubernetes: Jobs, pod backoff failure policy (kubernetes.io/docs/concepts/workloads/controllers/job/#pod-backoff-failure-policy)"
	srcJobTerminate = "Kubernetes: Jobs, job termination and cleanup (kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup)"
	srcJobIndexed   = "Kubernetes: Jobs, completion mode (kubernetes.io/docs/concepts/workloads/controllers/job/#completion-mode)"
	srcJobSuspend   = "Kubernetes: Jobs, suspending a Job (kubernetes.io/docs/concepts/workloads/controllers/job/#suspending-a-job)"
	srcJobEvents    = "Kubernetes: kubectl describe job shows the Job controller's Events (pkg/controller/job: SuccessfulCreate, Completed, BackoffLimitExceeded)"
	srcJobTTL       = "Kubernetes: Automatic cleanup for finished Jobs (kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished)"
	// jobBackoffStep is how far a spec moves a virtual clock per poll while it waits for a
	// Job's pod backoff (10 s doubling) or deadline to pass.
	jobBackoffStep = 10 * time.Second
)

func jobSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.job.pod-identity", "a Job's pods MUST be controlled by the Job (ownerReference controller=true) and carry the labels batch.kubernetes.io/controller-uid and controller-uid with the Job's uid, and batch.kubernetes.io/job-name and job-name with its name", srcJobs), specJobPodIdentity},
		{ctrl("controllers.job.parallelism", "a Job with parallelism 2 and completions 5 whose pods keep running MUST keep exactly 2 active pods and report status.active 2", srcJobs), specJobParallelism},
		{ctrl("controllers.job.completes", "a Job with completions 3 and parallelism 2 whose pods succeed MUST never have more than 2 active pods and MUST end with status.succeeded 3, the Complete condition True and a completionTime", srcJobs), specJobCompletes},
		{ctrl("controllers.job.backoff-limit", "a Job with backoffLimit 1 whose pods fail MUST create exactly 2 pods and then get the Failed condition True with reason BackoffLimitExceeded and status.failed 2", srcJobFailure), specJobBackoffLimit},
		{ctrl("controllers.job.active-deadline", "a Job active for longer than its activeDeadlineSeconds MUST have its pods deleted and get the Failed condition True with reason DeadlineExceeded", srcJobTerminate, VirtualTime), specJobActiveDeadline},
		{ctrl("controllers.job.indexed", "an Indexed Job with completions 3 MUST run one pod per index 0, 1, 2 with the batch.kubernetes.io/job-completion-index annotation and hostname <job>-<index>, and end with completedIndexes \"0-2\" and the Complete condition True", srcJobIndexed), specJobIndexed},
		{ctrl("controllers.job.backoff-limit-per-index", "an Indexed Job with completions 2 and backoffLimitPerIndex 1 whose pods fail MUST run exactly 2 pods per index, the replacement carrying batch.kubernetes.io/job-index-failure-count 1, and end with failedIndexes \"0,1\" and the Failed condition True with reason FailedIndexes", srcJobFailure), specJobBackoffPerIndex},
		{ctrl("controllers.job.suspend", "suspending a running Job MUST delete its active pods and set the Suspended condition True; resuming it MUST create pods again and set the Suspended condition False", srcJobSuspend), specJobSuspend},
		{ctrl("controllers.job.events", "a Job MUST get a Normal Event SuccessfulCreate \"Created pod: NAME\" for every pod it creates and, once complete, a Normal Event Completed \"Job completed\"; a Job that exceeds its backoffLimit MUST get a Warning Event BackoffLimitExceeded", srcJobEvents), specJobEvents},
		{ctrl("controllers.ttl.deletes-finished", "a finished Job with ttlSecondsAfterFinished MUST be deleted once that many seconds have passed since it finished, and its pods with it", srcJobTTL, VirtualTime), specJobTTL},
	}
}

// ctrlJob is a Job whose pods run `sh -c "exit <code>"` (once, restartPolicy Never), or keep
// running when code is nil. Its pods carry the label app=name.
func ctrlJob(name string, completions, parallelism int32, code *int) *batchv1.Job {
	t := ctrlTemplate(name, ctrlImage1)
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	t.Spec.Containers[0].Ports = nil
	if code != nil {
		t.Spec.Containers[0].Command = []string{"sh", "-c", fmt.Sprintf("exit %d", *code)}
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(completions), Parallelism: ptr.To(parallelism),
			Template: t,
		},
	}
}

func (e *ctrlEnv) createJob(ctx context.Context, g gomega.Gomega, j *batchv1.Job) *batchv1.Job {
	out, err := e.client.BatchV1().Jobs(e.ns).Create(ctx, j, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating Job %s", j.Name)
	return out
}

func (e *ctrlEnv) getJob(ctx context.Context, g gomega.Gomega, name string) *batchv1.Job {
	j, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "reading Job %s", name)
	return j
}

// jobPods lists every pod with label app=name (active, finished or terminating).
func (e *ctrlEnv) jobPods(ctx context.Context, g gomega.Gomega, name string) []corev1.Pod {
	list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "listing pods")
	return list.Items
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

// nudge moves a virtual clock on by jobBackoffStep (so backoffs and deadlines pass); without
// virtual time it does nothing and the spec waits in real time.
func (e *ctrlEnv) nudge(ctx context.Context, g gomega.Gomega) {
	if e.cut.Advance != nil && e.h.VirtualTime {
		e.advance(ctx, g, jobBackoffStep)
	}
}

// waitJobCondition waits until the Job has condition t True and returns the Job.
func (e *ctrlEnv) waitJobCondition(ctx context.Context, g gomega.Gomega, name string, t batchv1.JobConditionType, nudge bool) *batchv1.Job {
	var j *batchv1.Job
	e.eventually(ctx, g, fmt.Sprintf("Job %s has condition %s True", name, t), func(g gomega.Gomega) {
		if nudge {
			e.nudge(ctx, g)
		}
		j = e.getJob(ctx, g, name)
		c := jobCondition(j, t)
		g.Expect(c).NotTo(gomega.BeNil(), "conditions %+v", j.Status.Conditions)
		g.Expect(c.Status).To(gomega.Equal(corev1.ConditionTrue), "conditions %+v", j.Status.Conditions)
	})
	return j
}

func activeOf(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if isActive(&p) {
			out = append(out, p)
		}
	}
	return out
}

func specJobPodIdentity(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	j := e.createJob(ctx, g, ctrlJob("ident", 1, 1, nil))
	var pods []corev1.Pod
	e.eventually(ctx, g, "a pod of the Job", func(g gomega.Gomega) {
		pods = e.jobPods(ctx, g, "ident")
		g.Expect(pods).NotTo(gomega.BeEmpty())
	})
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(&p)
		g.Expect(ref).NotTo(gomega.BeNil(), "pod %s has no controller", p.Name)
		g.Expect(ref.Kind).To(gomega.Equal("Job"))
		g.Expect(ref.APIVersion).To(gomega.Equal("batch/v1"))
		g.Expect(ref.Name).To(gomega.Equal(j.Name))
		g.Expect(ref.UID).To(gomega.Equal(j.UID))
		for k, v := range map[string]string{
			batchv1.ControllerUidLabel: string(j.UID), "controller-uid": string(j.UID),
			batchv1.JobNameLabel: j.Name, "job-name": j.Name,
		} {
			g.Expect(p.Labels).To(gomega.HaveKeyWithValue(k, v), "labels of pod %s", p.Name)
		}
	}
}

func specJobParallelism(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createJob(ctx, g, ctrlJob("par", 5, 2, nil))
	e.eventually(ctx, g, "two active pods and status.active 2", func(g gomega.Gomega) {
		g.Expect(podNames(activeOf(e.jobPods(ctx, g, "par")))).To(gomega.HaveLen(2))
		g.Expect(e.getJob(ctx, g, "par").Status.Active).To(gomega.Equal(int32(2)))
	})
	consistently(ctx, g, "exactly two active pods", func(g gomega.Gomega) {
		g.Expect(podNames(activeOf(e.jobPods(ctx, g, "par")))).To(gomega.HaveLen(2))
	})
}

func specJobCompletes(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createJob(ctx, g, ctrlJob("done", 3, 2, ptr.To(0)))
	most := 0
	var j *batchv1.Job
	e.eventually(ctx, g, "Job done completes", func(g gomega.Gomega) {
		most = max(most, len(activeOf(e.jobPods(ctx, g, "done"))))
		j = e.getJob(ctx, g, "done")
		c := jobCondition(j, batchv1.JobComplete)
		g.Expect(c).NotTo(gomega.BeNil(), "conditions %+v", j.Status.Conditions)
		g.Expect(c.Status).To(gomega.Equal(corev1.ConditionTrue))
	})
	g.Expect(most).To(gomega.BeNumerically("<=", 2), "active pods seen at once")
	g.Expect(j.Status.Succeeded).To(gomega.Equal(int32(3)), "status.succeeded")
	g.Expect(j.Status.CompletionTime).NotTo(gomega.BeNil(), "status.completionTime")
	g.Expect(j.Status.Active).To(gomega.BeZero(), "status.active")
}

func specJobBackoffLimit(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	jb := ctrlJob("fails", 1, 1, ptr.To(3))
	jb.Spec.BackoffLimit = ptr.To(int32(1))
	e.createJob(ctx, g, jb)
	j := e.waitJobCondition(ctx, g, "fails", batchv1.JobFailed, true)
	c := jobCondition(j, batchv1.JobFailed)
	g.Expect(c.Reason).To(gomega.Equal(batchv1.JobReasonBackoffLimitExceeded))
	g.Expect(j.Status.Failed).To(gomega.Equal(int32(2)), "status.failed")
	e.nudge(ctx, g)
	consistently(ctx, g, "two pods, none active", func(g gomega.Gomega) {
		pods := e.jobPods(ctx, g, "fails")
		g.Expect(podNames(pods)).To(gomega.HaveLen(2))
		g.Expect(activeOf(pods)).To(gomega.BeEmpty())
	})
}

func specJobActiveDeadline(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	jb := ctrlJob("late", 2, 2, nil)
	jb.Spec.ActiveDeadlineSeconds = ptr.To(int64(30))
	e.createJob(ctx, g, jb)
	e.eventually(ctx, g, "two active pods", func(g gomega.Gomega) {
		g.Expect(podNames(activeOf(e.jobPods(ctx, g, "late")))).To(gomega.HaveLen(2))
	})
	j := e.waitJobCondition(ctx, g, "late", batchv1.JobFailed, true)
	g.Expect(jobCondition(j, batchv1.JobFailed).Reason).To(gomega.Equal(batchv1.JobReasonDeadlineExceeded))
	e.eventually(ctx, g, "no active pod", func(g gomega.Gomega) {
		g.Expect(activeOf(e.jobPods(ctx, g, "late"))).To(gomega.BeEmpty())
	})
}

func specJobIndexed(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	jb := ctrlJob("idx", 3, 3, ptr.To(0))
	jb.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	e.createJob(ctx, g, jb)
	j := e.waitJobCondition(ctx, g, "idx", batchv1.JobComplete, false)
	g.Expect(j.Status.CompletedIndexes).To(gomega.Equal("0-2"), "status.completedIndexes")
	var got []string
	for _, p := range e.jobPods(ctx, g, "idx") {
		ix, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		g.Expect(ok).To(gomega.BeTrue(), "pod %s has no completion index annotation", p.Name)
		g.Expect(p.Spec.Hostname).To(gomega.Equal("idx-"+ix), "hostname of pod %s", p.Name)
		if p.Status.Phase == corev1.PodSucceeded {
			got = append(got, ix)
		}
	}
	sort.Strings(got)
	g.Expect(got).To(gomega.Equal([]string{"0", "1", "2"}), "indexes of the succeeded pods")
}

func (e *ctrlEnv) setSuspend(ctx context.Context, g gomega.Gomega, name string, suspend bool) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		j, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		j.Spec.Suspend = ptr.To(suspend)
		_, err = e.client.BatchV1().Jobs(e.ns).Update(ctx, j, metav1.UpdateOptions{})
		return err
	})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "setting suspend=%v on Job %s", suspend, name)
}

func specJobSuspend(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	e.createJob(ctx, g, ctrlJob("pause", 4, 2, nil))
	e.eventually(ctx, g, "two active pods", func(g gomega.Gomega) {
		g.Expect(podNames(activeOf(e.jobPods(ctx, g, "pause")))).To(gomega.HaveLen(2))
	})
	e.setSuspend(ctx, g, "pause", true)
	e.eventually(ctx, g, "no active pod and Suspended True", func(g gomega.Gomega) {
		g.Expect(activeOf(e.jobPods(ctx, g, "pause"))).To(gomega.BeEmpty())
		j := e.getJob(ctx, g, "pause")
		c := jobCondition(j, batchv1.JobSuspended)
		g.Expect(c).NotTo(gomega.BeNil(), "conditions %+v", j.Status.Conditions)
		g.Expect(c.Status).To(gomega.Equal(corev1.ConditionTrue))
		g.Expect(j.Status.Active).To(gomega.BeZero(), "status.active")
	})
	consistently(ctx, g, "no pod created while suspended", func(g gomega.Gomega) {
		g.Expect(activeOf(e.jobPods(ctx, g, "pause"))).To(gomega.BeEmpty())
	})
	e.setSuspend(ctx, g, "pause", false)
	e.eventually(ctx, g, "two active pods again and Suspended False", func(g gomega.Gomega) {
		e.nudge(ctx, g)
		g.Expect(podNames(activeOf(e.jobPods(ctx, g, "pause")))).To(gomega.HaveLen(2))
		j := e.getJob(ctx, g, "pause")
		c := jobCondition(j, batchv1.JobSuspended)
		g.Expect(c).NotTo(gomega.BeNil(), "conditions %+v", j.Status.Conditions)
		g.Expect(c.Status).To(gomega.Equal(corev1.ConditionFalse))
	})
}

func specJobTTL(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	jb := ctrlJob("ttl", 1, 1, ptr.To(0))
	jb.Spec.TTLSecondsAfterFinished = ptr.To(int32(60))
	e.createJob(ctx, g, jb)
	e.waitJobCondition(ctx, g, "ttl", batchv1.JobComplete, false)
	e.eventually(ctx, g, "Job ttl and its pods deleted", func(g gomega.Gomega) {
		e.nudge(ctx, g)
		_, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, "ttl", metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "Job ttl still exists (err %v)", err)
		g.Expect(e.jobPods(ctx, g, "ttl")).To(gomega.BeEmpty())
	})
}

func specJobBackoffPerIndex(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	jb := ctrlJob("perix", 2, 2, ptr.To(3))
	jb.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	jb.Spec.BackoffLimitPerIndex = ptr.To(int32(1))
	jb.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
	e.createJob(ctx, g, jb)
	j := e.waitJobCondition(ctx, g, "perix", batchv1.JobFailed, true)
	g.Expect(jobCondition(j, batchv1.JobFailed).Reason).To(gomega.Equal(batchv1.JobReasonFailedIndexes))
	g.Expect(j.Status.FailedIndexes).To(gomega.HaveValue(gomega.Equal("0,1")), "status.failedIndexes")
	counts := map[string][]string{}
	for _, p := range e.jobPods(ctx, g, "perix") {
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		counts[ix] = append(counts[ix], p.Annotations[batchv1.JobIndexFailureCountAnnotation])
	}
	for _, ix := range []string{"0", "1"} {
		sort.Strings(counts[ix])
		g.Expect(counts[ix]).To(gomega.Equal([]string{"0", "1"}), "failure counts of the pods of index %s", ix)
	}
}

func specJobEvents(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	ok := e.createJob(ctx, g, ctrlJob("evok", 2, 2, ptr.To(0)))
	e.waitJobCondition(ctx, g, "evok", batchv1.JobComplete, false)
	pods := e.jobPods(ctx, g, "evok")
	g.Expect(pods).NotTo(gomega.BeEmpty())
	e.eventually(ctx, g, "SuccessfulCreate per pod and Completed", func(g gomega.Gomega) {
		evs := e.objectEvents(ctx, g, "Job", "evok", ok.UID)
		for _, p := range pods {
			g.Expect(evs).To(gomega.ContainElement("Normal SuccessfulCreate: Created pod: "+p.Name), "the Events of Job evok")
		}
		g.Expect(evs).To(gomega.ContainElement("Normal Completed: Job completed"), "the Events of Job evok")
	})
	jb := ctrlJob("evfail", 1, 1, ptr.To(1))
	jb.Spec.BackoffLimit = ptr.To(int32(0))
	bad := e.createJob(ctx, g, jb)
	e.waitJobCondition(ctx, g, "evfail", batchv1.JobFailed, true)
	e.eventually(ctx, g, "BackoffLimitExceeded", func(g gomega.Gomega) {
		g.Expect(e.objectEvents(ctx, g, "Job", "evfail", bad.UID)).To(
			gomega.ContainElement(gomega.HavePrefix("Warning BackoffLimitExceeded: ")), "the Events of Job evfail")
	})
}
