package conformance

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Sources of the pod lifecycle behaviours.
const (
	srcInitContainers = "Kubernetes: Init Containers (kubernetes.io/docs/concepts/workloads/pods/init-containers), upstream e2e common/node/init_container.go"
	srcSidecars       = "Kubernetes: Sidecar Containers (kubernetes.io/docs/concepts/workloads/pods/sidecar-containers)"
	srcHooks          = "Kubernetes: Container Lifecycle Hooks (kubernetes.io/docs/concepts/containers/container-lifecycle-hooks), upstream e2e common/node/lifecycle_hook.go"
	srcTermMessage    = "Kubernetes: Determine the Reason for Pod Failure, customizing the termination message (kubernetes.io/docs/tasks/debug/debug-application/determine-reason-pod-failure), upstream e2e common/node/runtime.go"
	srcDeadline       = "Kubernetes: PodSpec activeDeadlineSeconds (\"Duration in seconds the pod may be active on the node relative to StartTime before the system will actively try to mark it failed and kill associated containers\"), upstream e2e common/node/pods.go"
)

func kubeletLifecycleSpecs() []spec[*kubeletEnv] {
	notRerun := kubeletBehavior("kubelet.init.not-rerun-after-restart",
		"a kubelet that restarts while a pod's app containers run MUST NOT run the pod's completed init containers again (same containerIDs, no restarts)",
		srcInitContainers, "Disruptive")
	notRerun.Needs = []Capability{KubeletRestart}
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.init.in-order",
			"init containers MUST run one at a time in the order given, each to completion (exit code 0) before the next one starts, and the app containers MUST start only after all of them succeeded",
			srcInitContainers), specInitInOrder},
		{kubeletBehavior("kubelet.init.status",
			"while its init containers run, a pod MUST be Pending with the Initialized condition False (reason ContainersNotInitialized, message \"containers with incomplete status: [NAMES]\") and its app containers waiting with reason PodInitializing; once they succeeded, Initialized MUST be True and initContainerStatuses MUST show each terminated with exit code 0, reason Completed, ready, with its image, imageID and containerID",
			srcInitContainers), specInitStatus},
		{kubeletBehavior("kubelet.init.failure-never",
			"with restartPolicy Never, an init container that fails MUST fail the pod (phase Failed, Initialized False) and the app containers MUST NOT start",
			srcInitContainers), specInitFailureNever},
		{kubeletBehavior("kubelet.init.failure-restarts",
			"with restartPolicy Always, an init container that fails MUST be restarted (its restartCount grows, lastState.terminated holds its exit code) while the pod stays Pending and the app containers wait with reason PodInitializing",
			srcInitContainers), specInitFailureRestarts},
		{notRerun, specInitNotRerun},
		{kubeletBehavior("kubelet.termination.delete-grace-override",
			"a grace period given in the deletion (DeleteOptions gracePeriodSeconds) MUST override the pod's terminationGracePeriodSeconds: a container ignoring SIGTERM in a pod with 60 s of grace, deleted with 2 s, MUST be killed once those 2 s have passed",
			srcTermination), specDeleteGraceOverride},
		{kubeletBehavior("kubelet.sidecar.order",
			"an init container with restartPolicy Always (a sidecar) MUST be started before the init containers after it and keep running beside the app containers, count in the pod's readiness, and be restarted when it exits even under restartPolicy Never",
			srcSidecars), specSidecarOrder},
		{kubeletBehavior("kubelet.hooks.post-start",
			"a container's postStart hook MUST run right after the container starts, and the container MUST NOT be reported ready (nor the pod Ready) before the hook returned",
			srcHooks), specPostStart},
		{kubeletBehavior("kubelet.hooks.post-start-failure",
			"a container whose postStart hook fails MUST be killed and restarted per the restart policy, with a Warning event FailedPostStartHook on the pod",
			srcHooks), specPostStartFailure},
		{kubeletBehavior("kubelet.hooks.pre-stop",
			"deleting a pod MUST run its container's preStop exec hook inside the still running container before the container is stopped",
			srcHooks), specPreStop},
		{kubeletBehavior("kubelet.hooks.http",
			"httpGet postStart and preStop hooks MUST send GET to the host, port and path (with its query) given",
			srcHooks), specHTTPHooks},
		{kubeletBehavior("kubelet.termination.message-file",
			"a container that terminated MUST report in state.terminated.message what it wrote to its terminationMessagePath (default /dev/termination-log), with its exit code, reason (Completed or Error), startedAt, finishedAt and containerID",
			srcTermMessage), specTerminationMessageFile},
		{kubeletBehavior("kubelet.termination.message-from-logs",
			"with terminationMessagePolicy FallbackToLogsOnError a container that failed and wrote no message file MUST report the tail of its log as its termination message, one that succeeded MUST report none, and a message file MUST win over the log",
			srcTermMessage), specTerminationMessageFromLogs},
		{kubeletBehavior("kubelet.deadline.active-deadline",
			"a pod active on the node longer than its activeDeadlineSeconds (also when shortened by an update) MUST be failed with reason DeadlineExceeded and its containers killed",
			srcDeadline), specActiveDeadline},
	}
}

// ---- helpers ----

// ckContainer is a container of the test image running args.
func (e *kubeletEnv) ckContainer(name string, args ...string) corev1.Container {
	return corev1.Container{Name: name, Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"/ckimage"}, Args: args}
}

func namedStatus(list []corev1.ContainerStatus, name string) corev1.ContainerStatus {
	for _, cs := range list {
		if cs.Name == name {
			return cs
		}
	}
	return corev1.ContainerStatus{Name: name}
}

// begun reports whether a container status shows the container ever ran.
func begun(cs corev1.ContainerStatus) bool {
	return cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil || cs.RestartCount > 0
}

func succeeded(cs corev1.ContainerStatus) bool {
	return cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
}

func podConditionOf(p *corev1.Pod, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{Type: t}
}

func describeInit(p *corev1.Pod) string {
	if p == nil {
		return "(pod not read)"
	}
	var b strings.Builder
	b.WriteString(describeStatus(p))
	for _, cs := range p.Status.InitContainerStatuses {
		fmt.Fprintf(&b, " init[%s ready=%v restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
		switch {
		case cs.State.Running != nil:
			b.WriteString(" running")
		case cs.State.Waiting != nil:
			fmt.Fprintf(&b, " waiting %s", cs.State.Waiting.Reason)
		case cs.State.Terminated != nil:
			fmt.Fprintf(&b, " terminated %s exit=%d", cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
		}
		b.WriteString("]")
	}
	return b.String()
}

// watchPod polls pod name every 100 ms, calling check on each version seen, until done
// holds (it returns that version) or timeout (the spec fails).
func (e *kubeletEnv) watchPod(ctx context.Context, g gomega.Gomega, name, what string, timeout time.Duration, check func(*corev1.Pod), done func(*corev1.Pod) bool) *corev1.Pod {
	deadline := time.Now().Add(timeout)
	var last *corev1.Pod
	for time.Now().Before(deadline) && ctx.Err() == nil {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			check(p)
			if done(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.ExpectWithOffset(1, false).To(gomega.BeTrue(), "pod %s: waited %s for %s; last status: %s", name, timeout, what, describeInit(last))
	return nil
}

// ---- init containers ----

func specInitInOrder(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("init-order", "serve-hostname")
	p.Spec.InitContainers = []corev1.Container{
		e.ckContainer("first", "exit", "--after", "3s"),
		e.ckContainer("second", "exit", "--code", "0"),
	}
	e.create(ctx, g, p)
	check := func(p *corev1.Pod) {
		first, second := namedStatus(p.Status.InitContainerStatuses, "first"), namedStatus(p.Status.InitContainerStatuses, "second")
		if begun(second) {
			g.Expect(succeeded(first)).To(gomega.BeTrue(), "the second init container started before the first completed: %s", describeInit(p))
			ran := first.State.Terminated.FinishedAt.Sub(first.State.Terminated.StartedAt.Time)
			g.Expect(ran).To(gomega.BeNumerically(">=", 2*time.Second),
				"the first init container (which runs 3 s) is reported done after %s of running while the second has started: %s", ran, describeInit(p))
		}
		if begun(containerStatus(p)) {
			g.Expect(succeeded(first) && succeeded(second)).To(gomega.BeTrue(), "an app container started before every init container succeeded: %s", describeInit(p))
		}
		if succeeded(first) && succeeded(second) {
			g.Expect(second.State.Terminated.StartedAt.Before(&first.State.Terminated.FinishedAt)).To(gomega.BeFalse(),
				"the second init container started (%s) before the first finished (%s)", second.State.Terminated.StartedAt, first.State.Terminated.FinishedAt)
		}
	}
	e.watchPod(ctx, g, "init-order", "Running after its init containers", startTimeout+10*time.Second, check, func(p *corev1.Pod) bool {
		return isRunning(p) && containerStatus(p).State.Running != nil
	})
}

func specInitStatus(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("init-status", "serve-hostname")
	p.Spec.InitContainers = []corev1.Container{
		e.ckContainer("setup", "exit", "--after", "4s"),
		e.ckContainer("migrate", "exit"),
	}
	e.create(ctx, g, p)
	// While the first init container runs.
	running := e.waitPod(ctx, g, "init-status", "the first init container running", startTimeout, func(p *corev1.Pod) bool {
		return namedStatus(p.Status.InitContainerStatuses, "setup").State.Running != nil
	})
	g.Expect(running.Status.Phase).To(gomega.Equal(corev1.PodPending), "a pod initializing is Pending: %s", describeInit(running))
	init := podConditionOf(running, corev1.PodInitialized)
	g.Expect(init.Status).To(gomega.Equal(corev1.ConditionFalse), "Initialized while the init containers run")
	g.Expect(init.Reason).To(gomega.Equal("ContainersNotInitialized"), "Initialized condition reason")
	g.Expect(init.Message).To(gomega.Equal("containers with incomplete status: [setup migrate]"), "Initialized condition message")
	g.Expect(running.Status.InitContainerStatuses).To(gomega.HaveLen(2), "initContainerStatuses")
	g.Expect(running.Status.InitContainerStatuses[0].Name).To(gomega.Equal("setup"), "initContainerStatuses are in spec order")
	g.Expect(running.Status.InitContainerStatuses[0].ContainerID).NotTo(gomega.BeEmpty(), "a running init container has a containerID")
	second := namedStatus(running.Status.InitContainerStatuses, "migrate")
	g.Expect(second.State.Waiting).NotTo(gomega.BeNil(), "the second init container waits: %s", describeInit(running))
	g.Expect(second.State.Waiting.Reason).To(gomega.Equal("PodInitializing"), "the second init container's waiting reason")
	app := containerStatus(running)
	g.Expect(app.State.Waiting).NotTo(gomega.BeNil(), "the app container waits: %s", describeInit(running))
	g.Expect(app.State.Waiting.Reason).To(gomega.Equal("PodInitializing"), "the app container's waiting reason")
	// Once initialized.
	done := e.waitPod(ctx, g, "init-status", "Running", startTimeout, isRunning)
	g.Expect(podCondition(done, corev1.PodInitialized)).To(gomega.Equal(corev1.ConditionTrue), "Initialized once the init containers succeeded")
	g.Expect(done.Status.InitContainerStatuses).To(gomega.HaveLen(2), "initContainerStatuses")
	for _, cs := range done.Status.InitContainerStatuses {
		g.Expect(cs.State.Terminated).NotTo(gomega.BeNil(), "init container %s terminated: %s", cs.Name, describeInit(done))
		g.Expect(cs.State.Terminated.ExitCode).To(gomega.BeZero(), "init container %s exit code", cs.Name)
		g.Expect(cs.State.Terminated.Reason).To(gomega.Equal("Completed"), "init container %s reason", cs.Name)
		g.Expect(cs.State.Terminated.FinishedAt.IsZero()).To(gomega.BeFalse(), "init container %s finishedAt", cs.Name)
		g.Expect(cs.Ready).To(gomega.BeTrue(), "a completed init container is ready (%s)", cs.Name)
		g.Expect(cs.Image).NotTo(gomega.BeEmpty(), "init container %s image", cs.Name)
		g.Expect(cs.ImageID).NotTo(gomega.BeEmpty(), "init container %s imageID", cs.Name)
		g.Expect(cs.ContainerID).NotTo(gomega.BeEmpty(), "init container %s containerID", cs.Name)
		g.Expect(cs.RestartCount).To(gomega.BeZero(), "init container %s restartCount", cs.Name)
	}
}

func specInitFailureNever(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("init-fail", "serve-hostname")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.InitContainers = []corev1.Container{
		e.ckContainer("ok", "exit"),
		e.ckContainer("broken", "exit", "--code", "3"),
	}
	e.create(ctx, g, p)
	noApp := func(p *corev1.Pod) {
		g.Expect(begun(containerStatus(p))).To(gomega.BeFalse(), "the app container started although an init container failed: %s", describeInit(p))
	}
	failed := e.watchPod(ctx, g, "init-fail", "Failed", startTimeout, noApp, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	broken := namedStatus(failed.Status.InitContainerStatuses, "broken")
	g.Expect(broken.State.Terminated).NotTo(gomega.BeNil(), "the failed init container is terminated: %s", describeInit(failed))
	g.Expect(broken.State.Terminated.ExitCode).To(gomega.Equal(int32(3)), "the failed init container's exit code")
	g.Expect(broken.RestartCount).To(gomega.BeZero(), "with restartPolicy Never the init container is not restarted")
	init := podConditionOf(failed, corev1.PodInitialized)
	g.Expect(init.Status).To(gomega.Equal(corev1.ConditionFalse), "Initialized of a pod whose init container failed")
	g.Expect(init.Message).To(gomega.Equal("containers with incomplete status: [broken]"), "Initialized condition message")
	g.Expect(containerStatus(failed).State.Waiting).NotTo(gomega.BeNil(), "the app container of a pod whose initialization failed stays waiting: %s", describeInit(failed))
	// And it does not start later.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "init-fail", metav1.GetOptions{})
		ok(g, err, "reading the pod")
		noApp(p)
		g.Expect(p.Status.Phase).To(gomega.Equal(corev1.PodFailed), "a Failed pod stays Failed")
		time.Sleep(200 * time.Millisecond)
	}
}

func specInitFailureRestarts(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("init-retry", "serve-hostname")
	p.Spec.InitContainers = []corev1.Container{e.ckContainer("flaky", "exit", "--code", "1"), e.ckContainer("next", "exit")}
	e.create(ctx, g, p)
	check := func(p *corev1.Pod) {
		g.Expect(p.Status.Phase).To(gomega.Equal(corev1.PodPending), "a pod whose init container fails (restartPolicy Always) stays Pending: %s", describeInit(p))
		g.Expect(begun(containerStatus(p))).To(gomega.BeFalse(), "the app container started although the init container fails: %s", describeInit(p))
		g.Expect(begun(namedStatus(p.Status.InitContainerStatuses, "next"))).To(gomega.BeFalse(), "the second init container started although the first fails: %s", describeInit(p))
		if app := containerStatus(p); app.State.Waiting != nil {
			g.Expect(app.State.Waiting.Reason).To(gomega.Equal("PodInitializing"), "the app container's waiting reason")
		}
	}
	got := e.watchPod(ctx, g, "init-retry", "the failing init container restarted twice", startTimeout+restartSlack+6*e.base, check, func(p *corev1.Pod) bool {
		return namedStatus(p.Status.InitContainerStatuses, "flaky").RestartCount >= 2
	})
	flaky := namedStatus(got.Status.InitContainerStatuses, "flaky")
	g.Expect(flaky.LastTerminationState.Terminated).NotTo(gomega.BeNil(), "a restarted init container has lastState.terminated: %s", describeInit(got))
	g.Expect(flaky.LastTerminationState.Terminated.ExitCode).To(gomega.Equal(int32(1)), "lastState.terminated.exitCode")
	init := podConditionOf(got, corev1.PodInitialized)
	g.Expect(init.Status).To(gomega.Equal(corev1.ConditionFalse), "Initialized while the init container fails")
	g.Expect(init.Message).To(gomega.Equal("containers with incomplete status: [flaky next]"), "Initialized condition message")
}

func specInitNotRerun(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("init-once", "serve-hostname")
	p.Spec.InitContainers = []corev1.Container{e.ckContainer("once", "exit")}
	e.create(ctx, g, p)
	before := e.waitPod(ctx, g, "init-once", "Running", startTimeout, func(p *corev1.Pod) bool {
		return isRunning(p) && containerStatus(p).State.Running != nil
	})
	g.Expect(e.k.StopKubelet(ctx)).To(gomega.Succeed(), "stopping the kubelet")
	stopped := true
	defer func() {
		if stopped {
			_ = e.k.StartKubelet(context.Background())
		}
	}()
	time.Sleep(time.Second)
	g.Expect(e.k.StartKubelet(ctx)).To(gomega.Succeed(), "starting the kubelet again")
	stopped = false
	// Give the kubelet a few syncs to (wrongly) run the init container again.
	time.Sleep(4 * time.Second)
	after := e.waitPod(ctx, g, "init-once", "Running", startTimeout, isRunning)
	bi, ai := namedStatus(before.Status.InitContainerStatuses, "once"), namedStatus(after.Status.InitContainerStatuses, "once")
	g.Expect(ai.ContainerID).To(gomega.Equal(bi.ContainerID), "the completed init container is not run again: %s", describeInit(after))
	g.Expect(ai.RestartCount).To(gomega.BeZero(), "the completed init container is not restarted")
	g.Expect(succeeded(ai)).To(gomega.BeTrue(), "the init container stays terminated with exit code 0: %s", describeInit(after))
	g.Expect(podCondition(after, corev1.PodInitialized)).To(gomega.Equal(corev1.ConditionTrue), "the pod stays Initialized")
	ba, aa := containerStatus(before), containerStatus(after)
	g.Expect(aa.ContainerID).To(gomega.Equal(ba.ContainerID), "the app container is adopted, not replaced")
	g.Expect(aa.RestartCount).To(gomega.Equal(ba.RestartCount), "adoption is not a restart")
}

func specDeleteGraceOverride(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("stubborn", "serve-hostname", "--ignore-term")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](60)
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "stubborn", "Running", startTimeout, isRunning)
	ok(g, e.client.CoreV1().Pods(e.ns).Delete(ctx, "stubborn", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](2)}), "deleting with gracePeriodSeconds 2")
	took := e.podGone(ctx, g, "stubborn", 40*time.Second)
	g.Expect(took).To(gomega.BeNumerically(">=", 1500*time.Millisecond), "a container ignoring SIGTERM was killed after %s, before the 2 s grace of the deletion", took)
	g.Expect(took).To(gomega.BeNumerically("<", 20*time.Second), "the deletion's 2 s grace must override the pod's 60 s; the pod took %s to go", took)
}

// ---- sidecars ----

func specSidecarOrder(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("sidecar", "serve-hostname")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	proxy := e.ckContainer("proxy", "serve-hostname", "--port", "9090")
	proxy.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	proxy.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(9090)}}, PeriodSeconds: 1}
	p.Spec.InitContainers = []corev1.Container{proxy, e.ckContainer("setup", "exit", "--after", "1s")}
	e.create(ctx, g, p)
	check := func(p *corev1.Pod) {
		side, setup := namedStatus(p.Status.InitContainerStatuses, "proxy"), namedStatus(p.Status.InitContainerStatuses, "setup")
		if begun(setup) {
			g.Expect(side.State.Running != nil || side.RestartCount > 0).To(gomega.BeTrue(), "the init container after the sidecar started before the sidecar: %s", describeInit(p))
		}
		if begun(containerStatus(p)) {
			g.Expect(succeeded(setup)).To(gomega.BeTrue(), "the app container started before the init containers were done: %s", describeInit(p))
		}
	}
	ready := e.watchPod(ctx, g, "sidecar", "Running and Ready", startTimeout+10*time.Second, check, func(p *corev1.Pod) bool {
		return isRunning(p) && podCondition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	side := namedStatus(ready.Status.InitContainerStatuses, "proxy")
	g.Expect(side.State.Running).NotTo(gomega.BeNil(), "the sidecar keeps running beside the app container: %s", describeInit(ready))
	g.Expect(side.Ready).To(gomega.BeTrue(), "a Ready pod's sidecar is ready")
	g.Expect(ptr.Deref(side.Started, false)).To(gomega.BeTrue(), "the sidecar is started")
	// Readiness counts the sidecar: make it unready.
	_, stderr, code, err := podExec(ctx, e.k.Config, e.client, e.ns, "sidecar", "proxy", "websocket", nil, "/ckimage", "post", "--port", "9090", "/unready")
	ok(g, err, "exec post /unready in the sidecar")
	g.Expect(code).To(gomega.BeZero(), "post /unready: %s", stderr)
	e.waitPod(ctx, g, "sidecar", "not Ready while its sidecar is unready", 30*time.Second, func(p *corev1.Pod) bool {
		return podCondition(p, corev1.PodReady) == corev1.ConditionFalse
	})
	// An exiting sidecar is restarted, restartPolicy Never notwithstanding.
	// (The exec may end with an error: the container exits under it.)
	_, _, _, _ = podExec(ctx, e.k.Config, e.client, e.ns, "sidecar", "proxy", "websocket", nil, "/ckimage", "post", "--port", "9090", "/exit?code=4")
	again := e.waitPod(ctx, g, "sidecar", "the sidecar restarted", restartSlack+4*e.base+30*time.Second, func(p *corev1.Pod) bool {
		s := namedStatus(p.Status.InitContainerStatuses, "proxy")
		return s.RestartCount >= 1 && s.State.Running != nil
	})
	g.Expect(again.Status.Phase).To(gomega.Equal(corev1.PodRunning), "the pod keeps running while its sidecar restarts")
	g.Expect(containerStatus(again).RestartCount).To(gomega.BeZero(), "the app container is not restarted with the sidecar")
}

// ---- hooks ----

// target starts a pod serving HTTP on 8080 that ends (restartPolicy Never) with the code a
// request to /exit?code=N asks for, and returns its IP.
func (e *kubeletEnv) target(ctx context.Context, g gomega.Gomega, name string) string {
	p := e.testPod(name, "serve-hostname")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	e.create(ctx, g, p)
	got := e.waitPod(ctx, g, name, "Running with an IP", startTimeout, func(p *corev1.Pod) bool { return isRunning(p) && p.Status.PodIP != "" })
	return got.Status.PodIP
}

// exitedWith waits until the target pod's container ended with code.
func (e *kubeletEnv) exitedWith(ctx context.Context, g gomega.Gomega, name string, code int32, timeout time.Duration, why string) {
	got := e.waitPod(ctx, g, name, why, timeout, func(p *corev1.Pod) bool { return containerStatus(p).State.Terminated != nil })
	g.ExpectWithOffset(1, containerStatus(got).State.Terminated.ExitCode).To(gomega.Equal(code), "%s: the target's exit code tells which request reached it", why)
}

func specPostStart(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("post-start", "serve-hostname")
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/ckimage", "sleep", "4"}}}}
	e.create(ctx, g, p)
	got := e.waitPod(ctx, g, "post-start", "Ready", startTimeout+10*time.Second, func(p *corev1.Pod) bool {
		return podCondition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	cs := containerStatus(got)
	g.Expect(cs.State.Running).NotTo(gomega.BeNil(), "running: %s", describeStatus(got))
	readyAt := podConditionOf(got, corev1.PodReady).LastTransitionTime
	gap := readyAt.Sub(cs.State.Running.StartedAt.Time)
	g.Expect(gap).To(gomega.BeNumerically(">=", 2*time.Second),
		"the pod became Ready %s after its container started, while the container's postStart hook takes 4 s (started %s, Ready %s)", gap, cs.State.Running.StartedAt, readyAt)
}

func specPostStartFailure(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("post-start-fails", "serve-hostname")
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/ckimage", "false"}}}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "post-start-fails", "the container restarted after its failed postStart hook", startTimeout+restartSlack+2*e.base, func(p *corev1.Pod) bool {
		return containerStatus(p).RestartCount >= 1
	})
	g.Eventually(func() ([]string, error) {
		evs, err := e.client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{"involvedObject.name": "post-start-fails"}.String()})
		if err != nil {
			return nil, err
		}
		var reasons []string
		for _, ev := range evs.Items {
			if ev.Type == corev1.EventTypeWarning {
				reasons = append(reasons, ev.Reason)
			}
		}
		return reasons, nil
	}).WithContext(ctx).WithTimeout(20*time.Second).WithPolling(500*time.Millisecond).Should(gomega.ContainElement("FailedPostStartHook"),
		"a Warning event FailedPostStartHook on the pod")
}

func specPreStop(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	ip := e.target(ctx, g, "prestop-target")
	p := e.testPod("prestop", "serve-hostname")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{
		Command: []string{"/ckimage", "fetch", fmt.Sprintf("http://%s:8080/exit?code=7", ip)},
	}}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "prestop", "Running", startTimeout, isRunning)
	// Nothing reaches the target before the deletion.
	target, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "prestop-target", metav1.GetOptions{})
	ok(g, err, "reading the target")
	g.Expect(containerStatus(target).State.Running).NotTo(gomega.BeNil(), "the target runs until the preStop hook calls it")
	ok(g, e.client.CoreV1().Pods(e.ns).Delete(ctx, "prestop", metav1.DeleteOptions{}), "deleting the pod")
	e.exitedWith(ctx, g, "prestop-target", 7, 40*time.Second, "the preStop hook's request")
	e.podGone(ctx, g, "prestop", 40*time.Second)
}

func specHTTPHooks(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	startIP := e.target(ctx, g, "poststart-target")
	stopIP := e.target(ctx, g, "prestop-target")
	p := e.testPod("http-hooks", "serve-hostname")
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
		PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Host: startIP, Port: intstr.FromInt32(8080), Path: "/exit?code=5"}},
		PreStop:   &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Host: stopIP, Port: intstr.FromInt32(8080), Path: "/exit?code=9"}},
	}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "http-hooks", "Running", startTimeout, isRunning)
	e.exitedWith(ctx, g, "poststart-target", 5, 30*time.Second, "the postStart hook's request")
	target, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "prestop-target", metav1.GetOptions{})
	ok(g, err, "reading the preStop target")
	g.Expect(containerStatus(target).State.Running).NotTo(gomega.BeNil(), "the preStop target runs until the pod is deleted")
	ok(g, e.client.CoreV1().Pods(e.ns).Delete(ctx, "http-hooks", metav1.DeleteOptions{}), "deleting the pod")
	e.exitedWith(ctx, g, "prestop-target", 9, 40*time.Second, "the preStop hook's request")
}

// ---- termination messages ----

func terminatedOf(p *corev1.Pod, name string) *corev1.ContainerStateTerminated {
	return namedStatus(p.Status.ContainerStatuses, name).State.Terminated
}

func specTerminationMessageFile(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("term-msg", "exit")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	custom := e.ckContainer("custom", "exit", "--write", "/dev/termination-custom-log", "--text", "DONE")
	custom.TerminationMessagePath = "/dev/termination-custom-log"
	p.Spec.Containers = []corev1.Container{custom, e.ckContainer("failing", "exit", "--code", "3", "--write", "/dev/termination-log", "--text", "bad config: port 0")}
	e.create(ctx, g, p)
	got := e.waitPod(ctx, g, "term-msg", "Failed", startTimeout, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	c, f := terminatedOf(got, "custom"), terminatedOf(got, "failing")
	g.Expect(c).NotTo(gomega.BeNil(), "terminated: %s", describeStatus(got))
	g.Expect(f).NotTo(gomega.BeNil(), "terminated: %s", describeStatus(got))
	g.Expect(c.Message).To(gomega.Equal("DONE"), "the message written to a custom terminationMessagePath")
	g.Expect(c.ExitCode).To(gomega.BeZero(), "exit code")
	g.Expect(c.Reason).To(gomega.Equal("Completed"), "reason of exit code 0")
	g.Expect(f.Message).To(gomega.Equal("bad config: port 0"), "the message written to /dev/termination-log")
	g.Expect(f.ExitCode).To(gomega.Equal(int32(3)), "exit code")
	g.Expect(f.Reason).To(gomega.Equal("Error"), "reason of a non-zero exit code")
	for _, t := range []*corev1.ContainerStateTerminated{c, f} {
		g.Expect(t.StartedAt.IsZero()).To(gomega.BeFalse(), "startedAt")
		g.Expect(t.FinishedAt.IsZero()).To(gomega.BeFalse(), "finishedAt")
		g.Expect(t.FinishedAt.Before(&t.StartedAt)).To(gomega.BeFalse(), "finishedAt is not before startedAt")
		g.Expect(t.ContainerID).NotTo(gomega.BeEmpty(), "containerID")
	}
}

func specTerminationMessageFromLogs(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("log-msg", "exit")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	fallback := func(c corev1.Container) corev1.Container {
		c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		return c
	}
	p.Spec.Containers = []corev1.Container{
		fallback(e.ckContainer("failed", "exit", "--code", "2", "--print", "panic: out of cheese")),
		fallback(e.ckContainer("fine", "exit", "--print", "all good")),
		fallback(e.ckContainer("file", "exit", "--code", "1", "--print", "from the log", "--write", "/dev/termination-log", "--text", "from the file")),
	}
	e.create(ctx, g, p)
	got := e.waitPod(ctx, g, "log-msg", "Failed", startTimeout, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	for _, n := range []string{"failed", "fine", "file"} {
		g.Expect(terminatedOf(got, n)).NotTo(gomega.BeNil(), "container %s terminated: %s", n, describeStatus(got))
	}
	g.Expect(strings.TrimSpace(terminatedOf(got, "failed").Message)).To(gomega.Equal("panic: out of cheese"), "a failed container's message from its log")
	g.Expect(terminatedOf(got, "fine").Message).To(gomega.BeEmpty(), "a container that succeeded has no message from its log")
	g.Expect(terminatedOf(got, "file").Message).To(gomega.Equal("from the file"), "the message file wins over the log")
}

// ---- activeDeadlineSeconds ----

func specActiveDeadline(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("deadline", "serve-hostname")
	p.Spec.ActiveDeadlineSeconds = ptr.To[int64](3600)
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "deadline", "Running", startTimeout, isRunning)
	// Shorten the deadline to 5 s (an update may only shorten it).
	g.Eventually(func() error {
		cur, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "deadline", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.ActiveDeadlineSeconds = ptr.To[int64](5)
		_, err = e.client.CoreV1().Pods(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(10*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "updating activeDeadlineSeconds")
	got := e.waitPod(ctx, g, "deadline", "Failed past its deadline", 45*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	g.Expect(got.Status.Reason).To(gomega.Equal("DeadlineExceeded"), "status.reason")
	g.Expect(got.Status.Message).To(gomega.ContainSubstring("Pod was active on the node longer than the specified deadline"), "status.message")
	e.waitPod(ctx, g, "deadline", "its container killed", 30*time.Second, func(p *corev1.Pod) bool {
		return containerStatus(p).State.Terminated != nil
	})
	g.Expect(podCondition(got, corev1.PodReady)).To(gomega.Equal(corev1.ConditionFalse), "a pod past its deadline is not Ready")
}
