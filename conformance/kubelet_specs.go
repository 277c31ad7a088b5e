package conformance

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Sources of the kubelet behaviours.
const (
	srcSeedKubeletStarts   = "seed: \"It pulls the container image if needed, starts the container via the container runtime, and continuously checks whether the container is still alive\""
	srcSeedKubeletRestarts = "seed: \"If the container crashes, the kubelet restarts it according to the Pod's restart policy\""
	srcSeedKubeletReports  = "seed: \"It also reports the current status of every Pod back to the API server, which is why kubectl get pods is able to show you whether a container is Running, Pending, or CrashLoopBackOff\""
	srcSeedNodeDescribe    = "seed: \"The Capacity and Allocatable sections show the total and schedulable CPU and memory. The Conditions section lists things like MemoryPressure and DiskPressure\""
	srcSeedCatchesUp       = "seed: \"If any component is temporarily unavailable, the others continue working and catch up when it returns\""
	srcRestartPolicy       = "Kubernetes: Pod lifecycle, container restart policy (exponential back-off 10s, 20s, 40s… capped at 5 minutes)"
	srcProbes              = "Kubernetes: Configure Liveness, Readiness and Startup Probes"
	srcTermination         = "Kubernetes: Pod lifecycle, termination of Pods (SIGTERM, grace period, SIGKILL)"
	srcNodeLease           = "Kubernetes: Nodes, node heartbeats (Lease objects in kube-node-lease)"
	srcLogsExec            = "Kubernetes: kubectl logs and kubectl exec go through the API server to the kubelet (pods/log, pods/exec)"
	srcStaticPods          = "Kubernetes: Create static Pods (mirror Pods on the API server)"
)

func kubeletBehavior(id, must, source string, labels ...string) Behavior {
	return Behavior{ID: id, Component: "kubelet", Must: must, Source: source, Labels: labels}
}

func kubeletSpecs() []spec[*kubeletEnv] {
	restart := kubeletBehavior("kubelet.restart.adopts-running-containers",
		"a kubelet that is stopped MUST leave its containers running, and when it returns it MUST adopt them (same container IDs and restart counts, no duplicates), start pods created meanwhile and report pods that ended meanwhile",
		srcSeedCatchesUp, "Disruptive")
	restart.Needs = []Capability{KubeletRestart}
	static := kubeletBehavior("kubelet.static.mirror-pods",
		"a pod manifest in the kubelet's static pod directory MUST run without the API and appear as a mirror pod named NAME-NODE; a deleted mirror pod MUST be recreated and a removed manifest MUST remove it",
		srcStaticPods)
	static.Needs = []Capability{StaticPods}
	return append([]spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.node.status",
			"the kubelet MUST register its Node with capacity and allocatable (cpu, memory, pods; allocatable ≤ capacity), the conditions Ready, MemoryPressure, DiskPressure and PIDPressure, nodeInfo (kernel, OS image, container runtime, kubelet version, architecture), InternalIP and Hostname addresses and its kubelet port",
			srcSeedNodeDescribe), specNodeStatus},
		{kubeletBehavior("kubelet.node.lease",
			"the kubelet MUST keep a Lease named after its node in kube-node-lease, held by the node, with a renewTime that advances",
			srcNodeLease), specNodeLease},
		{kubeletBehavior("kubelet.pod.running",
			"a pod bound to the node MUST become Running with a podIP, hostIP, startTime, a running ready container with startedAt and the Ready condition True",
			srcSeedKubeletStarts), specPodRunning},
		{kubeletBehavior("kubelet.pod.running-means-started",
			"the kubelet MUST NOT report a pod Running before its container has started: as soon as the pod is Running, exec into its container MUST work",
			srcSeedKubeletReports), specRunningMeansStarted},
		{kubeletBehavior("kubelet.pod.image-never-pull",
			"a pod whose image is absent with imagePullPolicy Never MUST stay Pending with the waiting reason ErrImageNeverPull",
			srcSeedKubeletStarts), specImageNeverPull},
		{kubeletBehavior("kubelet.restart.crash-loop-backoff",
			"a crashing container with restartPolicy Always MUST be restarted with growing delays (back-off doubling from its base), its restartCount MUST grow and it MUST show the waiting reason CrashLoopBackOff with the last exit code in lastState",
			srcRestartPolicy), specCrashLoopBackoff},
		{kubeletBehavior("kubelet.restart.never",
			"with restartPolicy Never a container MUST NOT be restarted: exit code 0 MUST end in Succeeded and exit code 3 in Failed, with the exit code in the terminated state",
			srcSeedKubeletRestarts), specRestartNever},
		{kubeletBehavior("kubelet.restart.on-failure",
			"with restartPolicy OnFailure a container exiting 0 MUST end in Succeeded without restarts, and one exiting 3 MUST be restarted",
			srcSeedKubeletRestarts), specRestartOnFailure},
		{kubeletBehavior("kubelet.probe.liveness-restarts",
			"a container whose HTTP liveness probe fails MUST be killed and restarted, with the restart counted",
			srcProbes), specLivenessRestarts},
		{kubeletBehavior("kubelet.probe.readiness-gates-ready",
			"a running container MUST NOT be ready, nor the pod's Ready condition True, until its readiness probe succeeds",
			srcProbes), specReadinessGates},
		{kubeletBehavior("kubelet.termination.grace-period",
			"deleting a pod MUST send its containers SIGTERM and give them the grace period before SIGKILL: a container taking 3 s to stop MUST be allowed to, and one ignoring SIGTERM MUST be killed once the grace period ends",
			srcTermination), specGracePeriod},
		{kubeletBehavior("kubelet.logs.through-api",
			"the container's log MUST be readable through the API (pods/log), with tailLines honoured",
			srcLogsExec), specLogs},
		{kubeletBehavior("kubelet.exec.through-api",
			"exec through the API (pods/exec) MUST run the command in the container, return its output and report a non-zero exit code, over WebSocket and SPDY, with and without stdin attached",
			srcLogsExec), specExec},
		{restart, specKubeletRestart},
		{static, specStaticPods},
	}, slices.Concat(kubeletSecuritySpecs(), kubeletAPISpecs(), kubeletVolumeSpecs(), kubeletProbeSpecs(), kubeletStreamSpecs(), kubeletLifecycleSpecs(),
		kubeletTerminationSpecs(), kubeletAttachSpecs(), kubeletEvictionSpecs(), kubeletPortForwardSpecs(), kubeletDNSSpecs(), kubeletEventSpecs(), kubeletNodeEventSpecs(), kubeletStatsSpecs(), kubeletNodeIdentitySpecs(), kubeletVersionSpecs(), kubeletResizeSpecs())...)
}

// ---- helpers ----

// testPod is a pod bound to the node running the test image with args.
func (e *kubeletEnv) testPod(name string, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: corev1.PodSpec{
			NodeName:                      e.k.Node,
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			Containers: []corev1.Container{{
				Name: "c", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"/ckimage"}, Args: args,
			}},
		},
	}
}

func (e *kubeletEnv) create(ctx context.Context, g gomega.Gomega, p *corev1.Pod) *corev1.Pod {
	out, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating pod %s", p.Name)
	return out
}

// waitPod polls the pod until cond holds and returns it; it fails after
// timeout with the last status seen.
func (e *kubeletEnv) waitPod(ctx context.Context, g gomega.Gomega, name, what string, timeout time.Duration, cond func(*corev1.Pod) bool) *corev1.Pod {
	deadline := time.Now().Add(timeout)
	var last *corev1.Pod
	for {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.ExpectWithOffset(1, false).To(gomega.BeTrue(), "pod %s: waited %s for %s; last status: %s", name, timeout, what, describeStatus(last))
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describeStatus(p *corev1.Pod) string {
	if p == nil {
		return "(pod not read)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s podIP=%s", p.Status.Phase, p.Status.PodIP)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	for _, cs := range p.Status.ContainerStatuses {
		fmt.Fprintf(&b, " [%s ready=%v restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
		switch {
		case cs.State.Running != nil:
			b.WriteString(" running")
		case cs.State.Waiting != nil:
			fmt.Fprintf(&b, " waiting %s: %s", cs.State.Waiting.Reason, cs.State.Waiting.Message)
		case cs.State.Terminated != nil:
			fmt.Fprintf(&b, " terminated %s exit=%d", cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			fmt.Fprintf(&b, " last=exit %d", t.ExitCode)
		}
		b.WriteString("]")
	}
	return b.String()
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func isRunning(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }

func containerStatus(p *corev1.Pod) corev1.ContainerStatus {
	if len(p.Status.ContainerStatuses) == 0 {
		return corev1.ContainerStatus{}
	}
	return p.Status.ContainerStatuses[0]
}

// startTimeout is how long a pod may take to start; restartSlack is what a
// restart may take beyond its back-off.
const (
	startTimeout = 60 * time.Second
	restartSlack = 10 * time.Second
)

// exitedOnce reports whether the pod's container has exited at least once.
func exitedOnce(p *corev1.Pod) bool {
	cs := containerStatus(p)
	return cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil || cs.RestartCount > 0
}

// exec runs command in pod's container through pods/exec; websocket picks
// the protocol. It returns stdout, stderr and the exit code (-1 on errors
// other than a non-zero exit).
func (e *kubeletEnv) exec(ctx context.Context, pod string, websocket bool, command ...string) (string, string, int, error) {
	return e.execWith(ctx, pod, map[bool]string{true: "websocket", false: "spdy"}[websocket], nil, command...)
}

// execWith runs command with protocol "websocket", "spdy" or "kubectl"
// (WebSocket falling back to SPDY, as kubectl does), feeding stdin if set.
func (e *kubeletEnv) execWith(ctx context.Context, pod, protocol string, stdin io.Reader, command ...string) (string, string, int, error) {
	return podExec(ctx, e.k.Config, e.client, e.ns, pod, "c", protocol, stdin, command...)
}

// ---- specs ----

func specNodeStatus(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	var node *corev1.Node
	g.Eventually(func() error {
		n, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				node = n
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready: %v", e.k.Node, n.Status.Conditions)
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		c, ok := node.Status.Capacity[r]
		g.Expect(ok && c.Sign() > 0).To(gomega.BeTrue(), "capacity[%s] must be positive, got %v", r, node.Status.Capacity)
		a, ok := node.Status.Allocatable[r]
		g.Expect(ok).To(gomega.BeTrue(), "allocatable[%s] missing: %v", r, node.Status.Allocatable)
		g.Expect(a.Cmp(c)).To(gomega.BeNumerically("<=", 0), "allocatable[%s]=%s must not exceed capacity %s", r, a.String(), c.String())
	}
	types := map[corev1.NodeConditionType]corev1.ConditionStatus{}
	for _, c := range node.Status.Conditions {
		types[c.Type] = c.Status
		g.Expect(c.LastHeartbeatTime.IsZero()).To(gomega.BeFalse(), "condition %s has no lastHeartbeatTime", c.Type)
	}
	for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		g.Expect(types).To(gomega.HaveKey(t), "node conditions must include %s", t)
	}
	info := node.Status.NodeInfo
	for what, v := range map[string]string{"kernelVersion": info.KernelVersion, "osImage": info.OSImage,
		"containerRuntimeVersion": info.ContainerRuntimeVersion, "kubeletVersion": info.KubeletVersion,
		"architecture": info.Architecture, "operatingSystem": info.OperatingSystem} {
		g.Expect(v).NotTo(gomega.BeEmpty(), "nodeInfo.%s must be set", what)
	}
	g.Expect(info.ContainerRuntimeVersion).To(gomega.ContainSubstring("://"), "containerRuntimeVersion is NAME://VERSION")
	addrs := map[corev1.NodeAddressType]string{}
	for _, a := range node.Status.Addresses {
		addrs[a.Type] = a.Address
	}
	g.Expect(addrs[corev1.NodeInternalIP]).NotTo(gomega.BeEmpty(), "an InternalIP address: %v", node.Status.Addresses)
	g.Expect(addrs[corev1.NodeHostName]).NotTo(gomega.BeEmpty(), "a Hostname address: %v", node.Status.Addresses)
	g.Expect(node.Status.DaemonEndpoints.KubeletEndpoint.Port).To(gomega.BeNumerically(">", 0), "daemonEndpoints.kubeletEndpoint.port")
}

func specNodeLease(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	leases := e.client.CoordinationV1().Leases("kube-node-lease")
	var first *coordinationv1.Lease
	g.Eventually(func() error {
		l, err := leases.Get(ctx, e.k.Node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.RenewTime == nil {
			return fmt.Errorf("lease has no renewTime")
		}
		first = l
		return nil
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
	g.Expect(ptr.Deref(first.Spec.HolderIdentity, "")).To(gomega.Equal(e.k.Node), "lease holderIdentity")
	g.Expect(ptr.Deref(first.Spec.LeaseDurationSeconds, 0)).To(gomega.BeNumerically(">", 0), "leaseDurationSeconds")
	// Renewals come every quarter of the duration (10 s by default).
	wait := time.Duration(ptr.Deref(first.Spec.LeaseDurationSeconds, 40))*time.Second/2 + 5*time.Second
	g.Eventually(func() bool {
		l, err := leases.Get(ctx, e.k.Node, metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(first.Spec.RenewTime.Time)
	}).WithContext(ctx).WithTimeout(wait).WithPolling(250*time.Millisecond).Should(gomega.BeTrue(), "the lease's renewTime must advance within %s", wait)
}

func specPodRunning(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("web", "serve-hostname", "--port", "8080"))
	p := e.waitPod(ctx, g, "web", "Running and Ready", startTimeout, func(p *corev1.Pod) bool {
		return isRunning(p) && podCondition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	g.Expect(p.Status.PodIP).NotTo(gomega.BeEmpty(), "status.podIP")
	g.Expect(p.Status.HostIP).NotTo(gomega.BeEmpty(), "status.hostIP")
	g.Expect(p.Status.StartTime).NotTo(gomega.BeNil(), "status.startTime")
	cs := containerStatus(p)
	g.Expect(cs.Name).To(gomega.Equal("c"), "containerStatuses[0].name")
	g.Expect(cs.State.Running).NotTo(gomega.BeNil(), "the container must be running: %s", describeStatus(p))
	g.Expect(cs.State.Running.StartedAt.IsZero()).To(gomega.BeFalse(), "state.running.startedAt")
	g.Expect(cs.Ready).To(gomega.BeTrue(), "containerStatuses[0].ready")
	g.Expect(cs.ContainerID).To(gomega.ContainSubstring("://"), "containerStatuses[0].containerID")
	g.Expect(podCondition(p, corev1.ContainersReady)).To(gomega.Equal(corev1.ConditionTrue), "ContainersReady")
}

func specRunningMeansStarted(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("early", "serve-hostname"))
	p := e.waitPod(ctx, g, "early", "Running", startTimeout, isRunning)
	cs := containerStatus(p)
	g.Expect(cs.State.Running).NotTo(gomega.BeNil(), "a Running pod's container must be in state running: %s", describeStatus(p))
	// The container has started: exec works right away (a short retry
	// covers the API round trip, not a start still to come).
	var lastErr error
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		out, _, code, err := e.exec(ctx, "early", true, "/ckimage", "echo", "started")
		if err == nil && code == 0 && strings.TrimSpace(out) == "started" {
			return
		}
		lastErr = fmt.Errorf("exec: out=%q code=%d err=%v", out, code, err)
		time.Sleep(100 * time.Millisecond)
	}
	g.Expect(lastErr).NotTo(gomega.HaveOccurred(), "the pod was reported Running, but its container did not run commands")
}

func specImageNeverPull(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("absent", "serve-hostname")
	p.Spec.Containers[0].Image = "clusterkit.local/absent-image:v0"
	p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever
	e.create(ctx, g, p)
	got := e.waitPod(ctx, g, "absent", "waiting reason ErrImageNeverPull", startTimeout, func(p *corev1.Pod) bool {
		w := containerStatus(p).State.Waiting
		return w != nil && w.Reason == "ErrImageNeverPull"
	})
	g.Expect(got.Status.Phase).To(gomega.Equal(corev1.PodPending), "phase")
	g.Consistently(func() corev1.PodPhase {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "absent", metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return p.Status.Phase
	}).WithContext(ctx).WithTimeout(2*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Equal(corev1.PodPending), "the pod must stay Pending")
}

func specCrashLoopBackoff(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("crash", "exit", "--code", "1"))
	e.waitPod(ctx, g, "crash", "the first exit", startTimeout, exitedOnce)
	// Record when each restart count is first seen.
	seen := map[int32]time.Time{}
	sawBackoff := false
	var last *corev1.Pod
	within := restartSlack + 14*e.base
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "crash", metav1.GetOptions{})
		if err == nil {
			last = p
			cs := containerStatus(p)
			if _, ok := seen[cs.RestartCount]; !ok {
				seen[cs.RestartCount] = time.Now()
			}
			if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
				sawBackoff = true
				g.Expect(cs.LastTerminationState.Terminated).NotTo(gomega.BeNil(), "CrashLoopBackOff must come with lastState.terminated: %s", describeStatus(p))
				g.Expect(cs.LastTerminationState.Terminated.ExitCode).To(gomega.Equal(int32(1)), "lastState.terminated.exitCode")
			}
			if cs.RestartCount >= 3 && sawBackoff {
				break
			}
			g.Expect(p.Status.Phase).NotTo(gomega.Or(gomega.Equal(corev1.PodSucceeded), gomega.Equal(corev1.PodFailed)),
				"with restartPolicy Always the pod never ends: %s", describeStatus(p))
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.Expect(seen).To(gomega.HaveKey(int32(3)), "restartCount must reach 3 within %s of the first exit; last status: %s", within, describeStatus(last))
	g.Expect(sawBackoff).To(gomega.BeTrue(), "the container must show the waiting reason CrashLoopBackOff between restarts; last: %s", describeStatus(last))
	for _, n := range []int32{1, 2} {
		g.Expect(seen).To(gomega.HaveKey(n), "restartCount %d was never observed (restarts must be one at a time)", n)
	}
	gap1, gap2 := seen[2].Sub(seen[1]), seen[3].Sub(seen[2])
	// Restart 2 waits 2×base after the second crash, restart 3 4×base.
	g.Expect(gap1).To(gomega.BeNumerically(">=", e.base*3/2), "the second restart must wait about twice the back-off base %s after the first, waited %s", e.base, gap1)
	g.Expect(gap2).To(gomega.BeNumerically(">=", gap1*13/10), "the back-off must grow: gaps between restarts %s then %s", gap1, gap2)
}

func specRestartNever(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	for _, c := range []struct {
		name  string
		code  int32
		phase corev1.PodPhase
	}{{"ok", 0, corev1.PodSucceeded}, {"fail", 3, corev1.PodFailed}} {
		p := e.testPod(c.name, "exit", "--code", fmt.Sprint(c.code), "--after", "1s")
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		e.create(ctx, g, p)
	}
	for _, c := range []struct {
		name  string
		code  int32
		phase corev1.PodPhase
	}{{"ok", 0, corev1.PodSucceeded}, {"fail", 3, corev1.PodFailed}} {
		p := e.waitPod(ctx, g, c.name, string(c.phase), startTimeout, func(p *corev1.Pod) bool { return p.Status.Phase == c.phase })
		cs := containerStatus(p)
		g.Expect(cs.State.Terminated).NotTo(gomega.BeNil(), "pod %s: terminated state: %s", c.name, describeStatus(p))
		g.Expect(cs.State.Terminated.ExitCode).To(gomega.Equal(c.code), "pod %s: exit code", c.name)
		g.Expect(cs.RestartCount).To(gomega.BeZero(), "pod %s: restartCount", c.name)
		g.Expect(podCondition(p, corev1.PodReady)).NotTo(gomega.Equal(corev1.ConditionTrue), "pod %s: a finished pod is not Ready", c.name)
	}
	// It stays that way.
	time.Sleep(max(2*time.Second, e.base*3/2))
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "fail", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(p.Status.Phase).To(gomega.Equal(corev1.PodFailed), "a Failed pod must stay Failed")
	g.Expect(containerStatus(p).RestartCount).To(gomega.BeZero(), "restartPolicy Never: no restarts")
}

func specRestartOnFailure(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	ok := e.testPod("ok", "exit", "--code", "0", "--after", "1s")
	ok.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	e.create(ctx, g, ok)
	bad := e.testPod("bad", "exit", "--code", "3", "--after", "1s")
	bad.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	e.create(ctx, g, bad)
	p := e.waitPod(ctx, g, "ok", "Succeeded", startTimeout, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	g.Expect(containerStatus(p).RestartCount).To(gomega.BeZero(), "exit 0 under OnFailure: no restart")
	g.Expect(containerStatus(p).State.Terminated).NotTo(gomega.BeNil())
	g.Expect(containerStatus(p).State.Terminated.ExitCode).To(gomega.BeZero())
	e.waitPod(ctx, g, "bad", "the first exit", startTimeout, exitedOnce)
	p = e.waitPod(ctx, g, "bad", "a restart", restartSlack+3*e.base, func(p *corev1.Pod) bool { return containerStatus(p).RestartCount >= 1 })
	g.Expect(p.Status.Phase).NotTo(gomega.Or(gomega.Equal(corev1.PodFailed), gomega.Equal(corev1.PodSucceeded)), "a restarting pod has not ended")
	last := containerStatus(p).LastTerminationState.Terminated
	g.Expect(last).NotTo(gomega.BeNil(), "lastState.terminated after a restart: %s", describeStatus(p))
	g.Expect(last.ExitCode).To(gomega.Equal(int32(3)), "lastState.terminated.exitCode")
}

func specLivenessRestarts(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("live", "liveness", "--fail-after", "3s", "--port", "8080")
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		InitialDelaySeconds: 1, PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1,
	}
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "live", "Running", startTimeout, isRunning)
	got := e.waitPod(ctx, g, "live", "a restart after the liveness probe fails", restartSlack+3*time.Second+3*e.base, func(p *corev1.Pod) bool {
		return containerStatus(p).RestartCount >= 1
	})
	g.Expect(containerStatus(got).LastTerminationState.Terminated).NotTo(gomega.BeNil(), "lastState.terminated: %s", describeStatus(got))
}

func specReadinessGates(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("ready", "serve-hostname", "--ready-after", "4s")
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/ckimage", "healthz", "--path", "/readyz"}}},
		PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1,
	}
	e.create(ctx, g, p)
	first := e.waitPod(ctx, g, "ready", "Running", startTimeout, isRunning)
	g.Expect(podCondition(first, corev1.PodReady)).NotTo(gomega.Equal(corev1.ConditionTrue), "Ready must be False before the readiness probe succeeds: %s", describeStatus(first))
	g.Expect(containerStatus(first).Ready).To(gomega.BeFalse(), "the container is not ready before its readiness probe succeeds")
	runningAt := time.Now()
	got := e.waitPod(ctx, g, "ready", "Ready", 30*time.Second, func(p *corev1.Pod) bool { return podCondition(p, corev1.PodReady) == corev1.ConditionTrue })
	g.Expect(containerStatus(got).Ready).To(gomega.BeTrue(), "containerStatuses[0].ready once Ready")
	g.Expect(time.Since(runningAt)).To(gomega.BeNumerically(">=", 1500*time.Millisecond), "Ready came too early for a container not ready for 4s")
}

// podGone waits until the pod no longer exists and returns how long it took.
func (e *kubeletEnv) podGone(ctx context.Context, g gomega.Gomega, name string, timeout time.Duration) time.Duration {
	return e.podGoneSince(ctx, g, name, time.Now(), timeout)
}

// podGoneSince waits until the pod no longer exists and returns how long after start it went.
func (e *kubeletEnv) podGoneSince(ctx context.Context, g gomega.Gomega, name string, start time.Time, timeout time.Duration) time.Duration {
	for time.Since(start) < timeout && ctx.Err() == nil {
		_, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.ExpectWithOffset(1, false).To(gomega.BeTrue(), "pod %s still exists %s after its deletion", name, timeout)
	return 0
}

func specGracePeriod(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	slow := e.testPod("slow", "serve-hostname", "--term-delay", "3s")
	slow.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
	stubborn := e.testPod("stubborn", "serve-hostname", "--ignore-term")
	stubborn.Spec.TerminationGracePeriodSeconds = ptr.To[int64](3)
	e.create(ctx, g, slow)
	e.create(ctx, g, stubborn)
	e.waitPod(ctx, g, "slow", "Running", startTimeout, isRunning)
	e.waitPod(ctx, g, "stubborn", "Running", startTimeout, isRunning)
	// Each pod's time counts from just before its delete request: its grace period cannot
	// start earlier, and a delete answered late on a loaded machine must not make a kubelet
	// that waited the whole period look early.
	slowSent := time.Now()
	g.Expect(e.client.CoreV1().Pods(e.ns).Delete(ctx, "slow", metav1.DeleteOptions{})).To(gomega.Succeed())
	stubbornSent := time.Now()
	g.Expect(e.client.CoreV1().Pods(e.ns).Delete(ctx, "stubborn", metav1.DeleteOptions{})).To(gomega.Succeed())
	done := make(chan time.Duration, 1)
	go func() {
		defer func() { _ = recover() }()
		done <- e.podGoneSince(ctx, g, "stubborn", stubbornSent, 20*time.Second)
	}()
	took := e.podGoneSince(ctx, g, "slow", slowSent, 30*time.Second)
	g.Expect(took).To(gomega.BeNumerically(">=", 2500*time.Millisecond), "a container that needs 3s after SIGTERM was stopped after %s: the grace period (20s) was not honoured", took)
	g.Expect(took).To(gomega.BeNumerically("<", 15*time.Second), "a container that stops 3s after SIGTERM took %s to go", took)
	var stubbornTook time.Duration
	select {
	case stubbornTook = <-done:
	case <-ctx.Done():
	}
	g.Expect(stubbornTook).To(gomega.BeNumerically(">=", 2500*time.Millisecond), "a container ignoring SIGTERM was killed after %s, before its 3s grace period ended", stubbornTook)
	g.Expect(stubbornTook).To(gomega.BeNumerically("<", 10*time.Second), "a container ignoring SIGTERM must be killed when its 3s grace period ends; it took %s", stubbornTook)
}

func specLogs(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("talk", "logs", "--lines", "5"))
	e.waitPod(ctx, g, "talk", "Running", startTimeout, isRunning)
	want := "line 1\nline 2\nline 3\nline 4\nline 5\n"
	g.Eventually(func() (string, error) {
		b, err := e.client.CoreV1().Pods(e.ns).GetLogs("talk", &corev1.PodLogOptions{Container: "c"}).DoRaw(ctx)
		return string(b), err
	}).WithContext(ctx).WithTimeout(10*time.Second).WithPolling(200*time.Millisecond).Should(gomega.Equal(want), "the whole log")
	b, err := e.client.CoreV1().Pods(e.ns).GetLogs("talk", &corev1.PodLogOptions{Container: "c", TailLines: ptr.To[int64](2)}).DoRaw(ctx)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "logs with tailLines")
	g.Expect(string(b)).To(gomega.Equal("line 4\nline 5\n"), "tailLines=2")
}

func specExec(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("shell", "serve-hostname"))
	e.waitPod(ctx, g, "shell", "Running", startTimeout, isRunning)
	for _, ws := range []bool{true, false} {
		proto := map[bool]string{true: "WebSocket", false: "SPDY"}[ws]
		out, _, code, err := e.exec(ctx, "shell", ws, "/ckimage", "echo", "hello", "world")
		g.Expect(err).NotTo(gomega.HaveOccurred(), "%s exec", proto)
		g.Expect(code).To(gomega.BeZero(), "%s exec exit code", proto)
		g.Expect(out).To(gomega.Equal("hello world\n"), "%s exec stdout", proto)
		_, _, code, err = e.exec(ctx, "shell", ws, "/ckimage", "exit", "--code", "3")
		g.Expect(err).NotTo(gomega.HaveOccurred(), "%s exec of a failing command", proto)
		g.Expect(code).To(gomega.Equal(3), "%s exec must carry the command's exit code", proto)
	}
	// Interactive (stdin attached), as kubectl exec -i sends it.
	out, _, code, err := e.execWith(ctx, "shell", "kubectl", strings.NewReader(""), "/ckimage", "echo", "interactive")
	g.Expect(err).NotTo(gomega.HaveOccurred(), "exec with stdin")
	g.Expect(code).To(gomega.BeZero(), "exec with stdin: exit code")
	g.Expect(out).To(gomega.Equal("interactive\n"), "exec with stdin: stdout")
}

func specKubeletRestart(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.create(ctx, g, e.testPod("keep", "serve-hostname"))
	short := e.testPod("short", "exit", "--code", "0", "--after", "3s")
	short.Spec.RestartPolicy = corev1.RestartPolicyNever
	before := e.waitPod(ctx, g, "keep", "Running", startTimeout, isRunning)
	g.Expect(e.k.StopKubelet(ctx)).To(gomega.Succeed(), "stopping the kubelet")
	stopped := true
	defer func() {
		if stopped {
			_ = e.k.StartKubelet(context.Background())
		}
	}()
	e.create(ctx, g, short)
	e.create(ctx, g, e.testPod("late", "serve-hostname"))
	time.Sleep(2 * time.Second)
	// Nothing runs the new pods while the kubelet is away.
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "late", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(p.Status.Phase).NotTo(gomega.Equal(corev1.PodRunning), "no kubelet, yet the pod is Running")
	g.Expect(e.k.StartKubelet(ctx)).To(gomega.Succeed(), "starting the kubelet again")
	stopped = false
	e.waitPod(ctx, g, "late", "Running", startTimeout, isRunning)
	e.waitPod(ctx, g, "short", "Succeeded", startTimeout, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	// Give the kubelet a few syncs to (wrongly) start duplicates.
	time.Sleep(2 * time.Second)
	after := e.waitPod(ctx, g, "keep", "Running", startTimeout, isRunning)
	b, a := containerStatus(before), containerStatus(after)
	g.Expect(a.ContainerID).To(gomega.Equal(b.ContainerID), "the running container must be adopted, not replaced")
	g.Expect(a.RestartCount).To(gomega.Equal(b.RestartCount), "adoption is not a restart")
	g.Expect(a.State.Running).NotTo(gomega.BeNil(), "still running: %s", describeStatus(after))
	out, _, code, err := e.exec(ctx, "keep", true, "/ckimage", "echo", "alive")
	g.Expect(err).NotTo(gomega.HaveOccurred(), "exec into the adopted container")
	g.Expect(code).To(gomega.BeZero())
	g.Expect(strings.TrimSpace(out)).To(gomega.Equal("alive"))
}

func specStaticPods(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	name := fmt.Sprintf("static-%s", e.ns[len(e.ns)-5:])
	manifest := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"/ckimage"}, Args: []string{"serve-hostname"},
		}}},
	}
	b, err := yaml.Marshal(manifest)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	path := filepath.Join(e.k.StaticPodDir, name+".yaml")
	g.Expect(os.WriteFile(path, b, 0o644)).To(gomega.Succeed(), "writing the manifest")
	defer func() { _ = os.Remove(path) }()
	mirror := name + "-" + e.k.Node
	p := e.waitPod(ctx, g, mirror, "the mirror pod Running", startTimeout, isRunning)
	g.Expect(p.Annotations).To(gomega.HaveKey(corev1.MirrorPodAnnotationKey), "a mirror pod carries %s", corev1.MirrorPodAnnotationKey)
	g.Expect(p.Spec.NodeName).To(gomega.Equal(e.k.Node))
	oldUID := p.UID
	g.Expect(e.client.CoreV1().Pods(e.ns).Delete(ctx, mirror, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})).To(gomega.Succeed())
	e.waitPod(ctx, g, mirror, "the mirror pod recreated", 30*time.Second, func(p *corev1.Pod) bool { return p.UID != oldUID })
	g.Expect(os.Remove(path)).To(gomega.Succeed())
	e.podGone(ctx, g, mirror, 30*time.Second)
}
