package conformance

import (
	"context"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Sources of the probe behaviours.
const (
	srcProbeGRPC    = "Kubernetes: Configure Liveness, Readiness and Startup Probes — define a gRPC liveness probe (grpc.health.v1, SERVING is healthy)"
	srcProbeStartup = "Kubernetes: Configure Liveness, Readiness and Startup Probes — protect slow starting containers with startup probes (liveness and readiness are disabled until it succeeds)"
	srcProbeConfig  = "Kubernetes: Configure Liveness, Readiness and Startup Probes — configure probes (timeoutSeconds, failureThreshold, terminationGracePeriodSeconds)"
)

// grpcHealthPort is where the probe specs' test containers serve grpc.health.v1.
const grpcHealthPort = 9090

func kubeletProbeSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.probe.grpc-liveness",
			"a gRPC liveness probe MUST keep a container whose grpc.health.v1 service answers SERVING (no restart) and MUST kill and restart one whose service answers NOT_SERVING",
			srcProbeGRPC), specProbeGRPCLiveness},
		{kubeletBehavior("kubelet.probe.startup-gates-liveness",
			"while a container's startupProbe has not succeeded the kubelet MUST NOT run its liveness probe (a failing liveness probe restarts nothing) and MUST report started=false; once the startup probe succeeds started MUST become true and the liveness probe MUST run",
			srcProbeStartup), specProbeStartupGatesLiveness},
		{kubeletBehavior("kubelet.probe.failure-threshold",
			"a liveness probe MUST kill the container only after failureThreshold consecutive failures, not at the first one",
			srcProbeConfig), specProbeFailureThreshold},
		{kubeletBehavior("kubelet.probe.exec-timeout",
			"an exec liveness probe whose command does not finish within timeoutSeconds MUST count as a failure: the container MUST be killed and restarted",
			srcProbeConfig), specProbeExecTimeout},
		{kubeletBehavior("kubelet.probe.termination-grace-override",
			"a container killed for a failed liveness probe MUST be stopped within the probe's terminationGracePeriodSeconds when set, not the pod's longer one",
			srcProbeConfig), specProbeGraceOverride},
	}
}

// restarted reports whether the pod's container was restarted at least once.
func restarted(p *corev1.Pod) bool { return containerStatus(p).RestartCount >= 1 }

func specProbeGRPCLiveness(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	probe := func() *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: grpcHealthPort}},
			InitialDelaySeconds: 1, PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 2,
		}
	}
	healthy := e.testPod("grpc-ok", "serve-hostname", "--grpc-port", "9090")
	healthy.Spec.Containers[0].LivenessProbe = probe()
	sick := e.testPod("grpc-sick", "serve-hostname", "--grpc-port", "9090", "--fail-after", "3s")
	sick.Spec.Containers[0].LivenessProbe = probe()
	sick.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	e.create(ctx, g, healthy)
	e.create(ctx, g, sick)
	e.waitPod(ctx, g, "grpc-ok", "Running", startTimeout, isRunning)
	e.waitPod(ctx, g, "grpc-sick", "Running", startTimeout, isRunning)
	got := e.waitPod(ctx, g, "grpc-sick", "a restart after its gRPC health turned NOT_SERVING", restartSlack+3*time.Second+3*e.base, restarted)
	g.Expect(containerStatus(got).LastTerminationState.Terminated).NotTo(gomega.BeNil(), "lastState.terminated: %s", describeStatus(got))
	// The healthy container has been probed for as long: never restarted.
	ok := e.waitPod(ctx, g, "grpc-ok", "Running", startTimeout, isRunning)
	g.Expect(containerStatus(ok).RestartCount).To(gomega.BeZero(), "a container answering SERVING was restarted: %s", describeStatus(ok))
	g.Expect(containerStatus(ok).State.Running).NotTo(gomega.BeNil(), "still running: %s", describeStatus(ok))
}

func specProbeStartupGatesLiveness(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	// /readyz answers 503 for the first 6 s: the startup probe fails until then.
	p := e.testPod("slow-start", "serve-hostname", "--ready-after", "6s")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	p.Spec.Containers[0].StartupProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/ckimage", "healthz", "--path", "/readyz"}}},
		PeriodSeconds: 1, FailureThreshold: 60, TimeoutSeconds: 2,
	}
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/ckimage", "false"}}},
		PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 2,
	}
	e.create(ctx, g, p)
	first := e.waitPod(ctx, g, "slow-start", "Running", startTimeout, isRunning)
	id := containerStatus(first).ContainerID
	// For the next 3 s the startup probe still fails: liveness must not run.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		cur := e.waitPod(ctx, g, "slow-start", "Running", startTimeout, func(*corev1.Pod) bool { return true })
		cs := containerStatus(cur)
		g.Expect(cs.RestartCount).To(gomega.BeZero(), "the liveness probe ran (and killed the container) before the startup probe succeeded: %s", describeStatus(cur))
		if cs.ContainerID == id && cs.State.Running != nil {
			g.Expect(ptr.Deref(cs.Started, false)).To(gomega.BeFalse(), "started=true before the startup probe succeeded: %s", describeStatus(cur))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Then the startup probe succeeds, the liveness probe runs and fails: a restart.
	e.waitPod(ctx, g, "slow-start", "a restart by the liveness probe once started", restartSlack+10*time.Second+3*e.base, restarted)
}

func specProbeFailureThreshold(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	const threshold = 5
	p := e.testPod("threshold", "serve-hostname", "--fail-after", "1s")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1, FailureThreshold: threshold, TimeoutSeconds: 1,
	}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "threshold", "Running", startTimeout, isRunning)
	got := e.waitPod(ctx, g, "threshold", "a restart after the liveness probe failed 5 times", restartSlack+20*time.Second+3*e.base, restarted)
	last := containerStatus(got).LastTerminationState.Terminated
	g.Expect(last).NotTo(gomega.BeNil(), "lastState.terminated: %s", describeStatus(got))
	// /healthz fails from 1 s on; five failures one period apart take at least 4 more
	// seconds (times are whole seconds: allow one for rounding).
	lived := last.FinishedAt.Sub(last.StartedAt.Time)
	g.Expect(lived).To(gomega.BeNumerically(">=", 4*time.Second),
		"the container was killed %s after it started: before failureThreshold=%d consecutive failures one second apart", lived, threshold)
}

func specProbeExecTimeout(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("hang", "serve-hostname")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		// The command would succeed, but only after 30 s.
		ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/ckimage", "sleep", "30"}}},
		InitialDelaySeconds: 1, PeriodSeconds: 2, FailureThreshold: 1, TimeoutSeconds: 1,
	}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "hang", "Running", startTimeout, isRunning)
	got := e.waitPod(ctx, g, "hang", "a restart after the exec probe timed out", restartSlack+20*time.Second+3*e.base, restarted)
	g.Expect(containerStatus(got).LastTerminationState.Terminated).NotTo(gomega.BeNil(), "lastState.terminated: %s", describeStatus(got))
	e.expectWarning(ctx, g, "hang", func(ev corev1.Event) bool {
		return ev.Reason == "Unhealthy" && strings.HasPrefix(ev.Message, "Liveness probe")
	})
}

func specProbeGraceOverride(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	// The container ignores SIGTERM: only the grace period's end stops it.
	p := e.testPod("grace", "serve-hostname", "--ignore-term")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](600)
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/ckimage", "false"}}},
		InitialDelaySeconds: 1, PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1,
		TerminationGracePeriodSeconds: ptr.To[int64](2),
	}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "grace", "Running", startTimeout, isRunning)
	got := e.waitPod(ctx, g, "grace", "a restart within the probe's 2 s grace period (not the pod's 600 s)", restartSlack+20*time.Second+3*e.base, restarted)
	last := containerStatus(got).LastTerminationState.Terminated
	g.Expect(last).NotTo(gomega.BeNil(), "lastState.terminated: %s", describeStatus(got))
	g.Expect(last.ExitCode).To(gomega.Equal(int32(137)), "a container ignoring SIGTERM ends by SIGKILL when the probe's grace period ends: %s", describeStatus(got))
}
