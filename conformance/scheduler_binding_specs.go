package conformance

import (
	"context"
	"fmt"

	"github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// srcSchedBinding: what kube-scheduler does when the API server refuses a binding.
const srcSchedBinding = "Kubernetes: Scheduling Framework, Bind and Unreserve (kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework); pkg/scheduler/schedule_one.go handleBindingCycleError: the assumed pod forgotten, the parked pods moved back to the queue, FailureHandler (FailedScheduling Event, PodScheduled=False reason SchedulerError), the pod retried with back-off"

// refusedPrefix starts the names of the pods whose bindings the spec's policy refuses.
const refusedPrefix = "refused"

// refusalMessage is the policy's message, which the scheduler must pass on.
const refusalMessage = "clusterkit spec: this binding is refused"

// schedulerBindingSpecs are the specs of a refused binding. They make the API server refuse
// the bindings of some pods with a ValidatingAdmissionPolicy on pods/binding
// (admissionregistration.k8s.io/v1, enforced by every kube-apiserver since 1.30).
func schedulerBindingSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{sched("scheduler.binding.refused-reported",
			"a Pod whose binding the API server refuses MUST stay unbound and MUST be reported: PodScheduled=False with reason SchedulerError and a Warning FailedScheduling Event, both carrying the API server's refusal",
			srcSchedBinding), specSchedBindingReported},
		{sched("scheduler.binding.refused-releases",
			"the resources a Pod held on its node while its binding was attempted MUST be free again once the binding is refused: a Pod that needs them MUST be placed on that node",
			srcSchedBinding), specSchedBindingReleases},
		{sched("scheduler.binding.refused-retried",
			"a Pod whose binding was refused MUST be tried again: once the API server accepts its binding it MUST be placed",
			srcSchedBinding), specSchedBindingRetried},
	}
}

// refuseBindings makes the API server refuse the bindings of the spec's pods named
// refused…, and returns once it does (probed with a dry-run binding of a pod no scheduler
// places). The returned function lifts the refusal.
func (e *schedEnv) refuseBindings(ctx context.Context, g gomega.Gomega, node string) (lift func()) {
	// The probe: a pod of no scheduler, bound with dryRun until the API server refuses.
	probe := e.schedPod(refusedPrefix+"-probe", "", "", scheduledBy(e.name+"-nobody"))
	e.create(ctx, g, probe)
	return refuse(ctx, g, e.client, e.c, refusal{
		name: e.prefix + "refuse-binding", resource: "pods/binding",
		operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		allow:      fmt.Sprintf("request.namespace != %q || !object.metadata.name.startsWith(%q)", e.ns, refusedPrefix),
		message:    refusalMessage,
	}, schedWait, func() error {
		return e.client.CoreV1().Pods(e.ns).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: probe.Name, Namespace: e.ns},
			Target:     corev1.ObjectReference{Kind: "Node", Name: node},
		}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	})
}

// refusalReported waits for the pod's PodScheduled=False, reason SchedulerError, whose message
// carries the policy's.
func (e *schedEnv) refusalReported(ctx context.Context, g gomega.Gomega, name string) {
	e.notScheduled(ctx, g, name, corev1.PodReasonSchedulerError, "the API server refuses to bind", gomega.ContainSubstring(refusalMessage),
		"the condition's message must carry the API server's refusal")
}

func specSchedBindingReported(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "only", "2", "4Gi")
	e.refuseBindings(ctx, g, node)
	name := refusedPrefix + "-reported"
	e.create(ctx, g, e.schedPod(name, "100m", "64Mi"))
	e.refusalReported(ctx, g, name)
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
	ok(g, err, "get pod "+name)
	g.Eventually(func(g gomega.Gomega) {
		var msgs []string
		for _, ev := range e.podEvents(ctx, g, name, p.UID) {
			if ev.Reason == "FailedScheduling" && ev.Type == corev1.EventTypeWarning {
				msgs = append(msgs, ev.Message)
			}
		}
		g.Expect(msgs).To(gomega.ContainElement(gomega.ContainSubstring(refusalMessage)),
			"a Warning FailedScheduling Event about the pod must carry the API server's refusal")
	}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.Succeed())
	e.stayPending(ctx, g, "its binding is refused", name)
}

func specSchedBindingReleases(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "only", "2", "4Gi")
	e.refuseBindings(ctx, g, node)
	// The refused pod needs the whole node: while it is assumed there, nothing else fits.
	refused := refusedPrefix + "-whole-node"
	e.create(ctx, g, e.schedPod(refused, "2", "1Gi"))
	e.refusalReported(ctx, g, refused)
	e.create(ctx, g, e.schedPod("needs-its-room", "2", "1Gi"))
	e.placedOn(ctx, g, "needs-its-room", node)
}

func specSchedBindingRetried(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "only", "2", "4Gi")
	lift := e.refuseBindings(ctx, g, node)
	name := refusedPrefix + "-for-now"
	e.create(ctx, g, e.schedPod(name, "100m", "64Mi"))
	e.refusalReported(ctx, g, name)
	lift()
	e.placedOn(ctx, g, name, node)
}
