package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// srcKubeletEvents: the Events the kubelet writes while it starts a pod.
const srcKubeletEvents = "Kubernetes: kubectl describe pod shows the kubelet's Events (kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod; pkg/kubelet/events: Pulled, Created, Started)"

// kubeletEventSpecs are the specs of the Events the kubelet writes.
func kubeletEventSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.events.pod-start",
			"a pod the kubelet starts MUST get Normal Events from source component kubelet (host the node) about its container (fieldPath spec.containers{NAME}): Pulled, Created and Started with the message \"Started container NAME\"",
			srcKubeletEvents), specKubeletStartEvents},
	}
}

func specKubeletStartEvents(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("evented", "serve-hostname", "--port", "8080"))
	p := e.waitPod(ctx, g, "evented", "Running", startTimeout, isRunning)
	g.Eventually(func(g gomega.Gomega) {
		list, err := e.client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "listing Events")
		got := map[string]string{}
		var seen []string
		for _, ev := range list.Items {
			o := ev.InvolvedObject
			if o.Kind != "Pod" || o.Name != "evented" || (o.UID != "" && o.UID != p.UID) {
				continue
			}
			seen = append(seen, fmt.Sprintf("%s %s %s/%s %s: %s", ev.Type, o.FieldPath, ev.Source.Component, ev.Source.Host, ev.Reason, ev.Message))
			if ev.Type == corev1.EventTypeNormal && o.FieldPath == "spec.containers{c}" && ev.Source.Component == "kubelet" && ev.Source.Host == e.k.Node {
				got[ev.Reason] = ev.Message
			}
		}
		g.Expect(got).To(gomega.HaveKey("Pulled"), "the pod's events: %q", seen)
		g.Expect(got).To(gomega.HaveKey("Created"), "the pod's events: %q", seen)
		g.Expect(got).To(gomega.HaveKeyWithValue("Started", "Started container c"), "the pod's events: %q", seen)
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
}
