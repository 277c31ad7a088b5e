package conformance

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Sources of the termination order behaviours.
const (
	srcSidecarStop  = "Kubernetes: Sidecar Containers, \"sidecar containers are terminated after the main containers, in the reverse order of their start\" (kubernetes.io/docs/concepts/workloads/pods/sidecar-containers); kubelet pkg/kubelet/kuberuntime kuberuntime_termination_order.go"
	srcPreStopGrace = "Kubernetes: Container Lifecycle Hooks, \"the Pod's termination grace period countdown begins before the PreStop hook is executed\" and hooks on liveness failures (kubernetes.io/docs/concepts/containers/container-lifecycle-hooks); kubelet killContainer"
)

func kubeletTerminationSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.sidecar.stop-order",
			"when a pod terminates, its sidecar containers (init containers with restartPolicy Always) MUST get the stop signal only after the app containers have exited, one after the other in the reverse order of their start",
			srcSidecarStop), specSidecarStopOrder},
		{kubeletBehavior("kubelet.hooks.pre-stop-grace",
			"the time a preStop hook runs MUST count against the pod's terminationGracePeriodSeconds: a container whose preStop hook outlasts the grace period MUST be killed once the grace period has ended, without waiting for the hook",
			srcPreStopGrace), specPreStopGrace},
		{kubeletBehavior("kubelet.hooks.pre-stop-liveness",
			"a container killed because its liveness probe failed MUST have its preStop hook run before it is stopped and restarted",
			srcPreStopGrace), specPreStopLiveness},
	}
}

// recorderLines reads the lines of the recorder pod's log (see the test image's /log) that
// are among want, in the order they were logged.
func (e *kubeletEnv) recorderLines(ctx context.Context, pod string, want ...string) ([]string, error) {
	out, err := e.logs(ctx, pod, corev1.PodLogOptions{})
	if err != nil {
		return nil, err
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); slices.Contains(want, l) {
			got = append(got, l)
		}
	}
	return got, nil
}

func specSidecarStopOrder(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	ip := e.target(ctx, g, "stop-recorder")
	record := func(msg string) string {
		return fmt.Sprintf("http://%s:8080/log?msg=%s", ip, url.QueryEscape(msg))
	}
	// Each container tells the recorder when it leaves on SIGTERM: the app container 3 s
	// after its signal, the second sidecar 2 s after its, the first at once. Stopped all
	// at once, they would be recorded first, second, app.
	p := e.testPod("stop-order", "sleep", "3600", "--term-delay", "3s", "--term-fetch", record("app"))
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](40)
	first := e.ckContainer("first", "sleep", "3600", "--term-fetch", record("first"))
	first.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	second := e.ckContainer("second", "sleep", "3600", "--term-delay", "2s", "--term-fetch", record("second"))
	second.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	p.Spec.InitContainers = []corev1.Container{first, second}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "stop-order", "Running with its sidecars", startTimeout+10*time.Second, func(p *corev1.Pod) bool {
		return isRunning(p) && containerStatus(p).State.Running != nil &&
			namedStatus(p.Status.InitContainerStatuses, "first").State.Running != nil &&
			namedStatus(p.Status.InitContainerStatuses, "second").State.Running != nil
	})
	ok(g, e.client.CoreV1().Pods(e.ns).Delete(ctx, "stop-order", metav1.DeleteOptions{}), "deleting the pod")
	var got []string
	g.Eventually(func() ([]string, error) {
		var err error
		got, err = e.recorderLines(ctx, "stop-recorder", "app", "first", "second")
		return got, err
	}).WithContext(ctx).WithTimeout(60*time.Second).WithPolling(500*time.Millisecond).Should(gomega.HaveLen(3),
		"each container of the terminating pod reports to the recorder as it leaves on SIGTERM")
	g.Expect(got).To(gomega.Equal([]string{"app", "second", "first"}),
		"the order the containers left on SIGTERM (the app container takes 3 s, the second sidecar 2 s): the sidecars must be stopped after the app container, the last started first")
	e.podGone(ctx, g, "stop-order", 60*time.Second)
}

func specPreStopGrace(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("prestop-grace", "serve-hostname", "--ignore-term")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{
		Command: []string{"/ckimage", "sleep", "600"},
	}}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "prestop-grace", "Running", startTimeout, isRunning)
	ok(g, e.client.CoreV1().Pods(e.ns).Delete(ctx, "prestop-grace", metav1.DeleteOptions{}), "deleting the pod")
	took := e.podGone(ctx, g, "prestop-grace", 60*time.Second)
	g.Expect(took).To(gomega.BeNumerically(">=", 3*time.Second),
		"the pod went %s after its deletion, before its 5 s grace period (its preStop hook runs 600 s, its container ignores SIGTERM)", took)
	g.Expect(took).To(gomega.BeNumerically("<", 30*time.Second),
		"a preStop hook of 600 s must not outlast the 5 s grace period: the pod went only %s after its deletion", took)
}

func specPreStopLiveness(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	ip := e.target(ctx, g, "liveness-prestop-target")
	p := e.testPod("liveness-prestop", "serve-hostname", "--fail-after", "3s")
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{
		Command: []string{"/ckimage", "fetch", fmt.Sprintf("http://%s:8080/exit?code=7", ip)},
	}}}
	e.create(ctx, g, p)
	e.exitedWith(ctx, g, "liveness-prestop-target", 7, startTimeout+30*time.Second, "the preStop hook's request when the liveness probe failed")
	e.waitPod(ctx, g, "liveness-prestop", "restarted after its liveness probe failed", restartSlack+4*e.base+30*time.Second, func(p *corev1.Pod) bool {
		return containerStatus(p).RestartCount >= 1
	})
}
