package conformance

import (
	"context"
	"fmt"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// srcSchedEvents: the Events kube-scheduler writes (pkg/scheduler/schedule_one.go).
const srcSchedEvents = "Kubernetes: kubectl describe pod shows the scheduler's Events (kubernetes.io/docs/tasks/debug/debug-application/debug-pods; pkg/scheduler/schedule_one.go: Scheduled, FailedScheduling)"

// schedulerEventSpecs are the specs of the Events a scheduler writes.
func schedulerEventSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{sched("scheduler.events.scheduled", "a placed Pod MUST get a Normal Event with reason Scheduled regarding it, whose message is \"Successfully assigned NAMESPACE/POD to NODE\"", srcSchedEvents), specSchedEventScheduled},
		{sched("scheduler.events.failed-scheduling", "a Pod that fits no node MUST get a Warning Event with reason FailedScheduling regarding it, whose message is \"0/N nodes are available: …\" naming why the nodes were filtered out", srcSchedEvents), specSchedEventFailed},
	}
}

// podEvents returns the core/v1 Events of the spec's namespace about the pod name of uid.
func (e *schedEnv) podEvents(ctx context.Context, g gomega.Gomega, name string, uid types.UID) []corev1.Event {
	list, err := e.client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "listing Events")
	var out []corev1.Event
	for _, ev := range list.Items {
		if ev.InvolvedObject.Kind == "Pod" && ev.InvolvedObject.Name == name && (ev.InvolvedObject.UID == "" || ev.InvolvedObject.UID == uid) {
			out = append(out, ev)
		}
	}
	return out
}

func eventSummaries(evs []corev1.Event) []string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Message))
	}
	return out
}

func specSchedEventScheduled(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	node := e.node(ctx, g, "only", "4", "8Gi", withLabels("ck-events", "yes"))
	e.create(ctx, g, e.schedPod("placed", "100m", "64Mi", selecting("ck-events", "yes")))
	e.placedOn(ctx, g, "placed", node)
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "placed", metav1.GetOptions{})
	ok(g, err, "get pod placed")
	want := fmt.Sprintf("Successfully assigned %s/%s to %s", e.ns, "placed", node)
	g.Eventually(func(g gomega.Gomega) {
		g.Expect(eventSummaries(e.podEvents(ctx, g, "placed", p.UID))).To(gomega.ContainElement("Normal Scheduled: "+want), "the Scheduled Event")
	}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.Succeed())
}

func specSchedEventFailed(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	e.node(ctx, g, "plain", "4", "8Gi")
	e.create(ctx, g, e.schedPod("nowhere", "100m", "64Mi", selecting("ck-disk", "nvme")))
	e.unschedulable(ctx, g, "nowhere", gomega.ContainSubstring("nodes are available"), "the pod fits no node")
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "nowhere", metav1.GetOptions{})
	ok(g, err, "get pod nowhere")
	g.Eventually(func(g gomega.Gomega) {
		var failed []corev1.Event
		for _, ev := range e.podEvents(ctx, g, "nowhere", p.UID) {
			if ev.Reason == "FailedScheduling" {
				failed = append(failed, ev)
			}
		}
		g.Expect(failed).NotTo(gomega.BeEmpty(), "no FailedScheduling Event")
		g.Expect(failed[0].Type).To(gomega.Equal(corev1.EventTypeWarning))
		g.Expect(failed[0].Message).To(gomega.MatchRegexp(`^0/\d+ nodes are available: `), "the message")
		g.Expect(failed[0].Message).To(gomega.ContainSubstring("didn't match Pod's node affinity/selector"), "the message must name the selector")
	}).WithTimeout(schedWait).WithPolling(schedPoll).Should(gomega.Succeed())
}
