package conformance

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// Sources of the kubelet's security behaviours.
const (
	srcSecurityContext = "Kubernetes: Configure a Security Context for a Pod or Container (runAsUser, runAsGroup, supplementalGroups, runAsNonRoot, privileged, capabilities, readOnlyRootFilesystem, allowPrivilegeEscalation, seccompProfile)"
	srcHostNamespaces  = "Kubernetes: Pod spec hostPID / shareProcessNamespace (Share Process Namespace between Containers in a Pod)"
	srcSysctls         = "Kubernetes: Using sysctls in a Kubernetes Cluster (unsafe sysctls are rejected with SysctlForbidden unless allowed on the node)"
	srcIssue13Kubelet  = "issue 13: the kubelet applies privileged, hostPID and capabilities exactly as the pod says, or rejects the pod — never a pod that looks as asked and isn't"
)

// capSysAdmin is CAP_SYS_ADMIN's bit.
const capSysAdmin = uint64(1) << 21

func kubeletSecuritySpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.security.run-as-user",
			"a container with runAsUser 1000, runAsGroup 3000 and supplementalGroups [4000] MUST run its processes as uid 1000 and gid 3000 with group 4000 among their groups",
			srcSecurityContext), specRunAsUser},
		{kubeletBehavior("kubelet.security.run-as-non-root",
			"a container with runAsNonRoot whose image runs as root and which sets no runAsUser MUST NOT start: it MUST wait with the reason CreateContainerConfigError and a message naming runAsNonRoot, and the pod MUST get a Warning event naming runAsNonRoot",
			srcSecurityContext), specRunAsNonRoot},
		{kubeletBehavior("kubelet.security.capabilities",
			"a container MUST hold exactly the capabilities its securityContext leaves it: drop ALL MUST leave no effective capability, drop ALL with add NET_BIND_SERVICE only that one, and a container without a securityContext MUST NOT hold CAP_SYS_ADMIN",
			srcSecurityContext+"; "+srcIssue13Kubelet), specCapabilities},
		{kubeletBehavior("kubelet.security.privileged",
			"a privileged container MUST hold every capability of its bounding set, CAP_SYS_ADMIN included",
			srcSecurityContext+"; "+srcIssue13Kubelet), specPrivileged},
		{kubeletBehavior("kubelet.security.read-only-root",
			"with readOnlyRootFilesystem a write to the container's root file system MUST fail, and without it the same write MUST succeed",
			srcSecurityContext), specReadOnlyRoot},
		{kubeletBehavior("kubelet.security.no-new-privs",
			"a container with allowPrivilegeEscalation false MUST run with no_new_privs set (NoNewPrivs 1 in /proc/self/status)",
			srcSecurityContext), specNoNewPrivs},
		{kubeletBehavior("kubelet.security.seccomp",
			"a container with seccompProfile RuntimeDefault MUST run under a seccomp filter (Seccomp 2 in /proc/self/status), and one with Unconfined MUST NOT",
			srcSecurityContext), specSeccomp},
		{kubeletBehavior("kubelet.security.pid-namespace",
			"a container MUST see its own command as pid 1 by default, MUST NOT with shareProcessNamespace (the pod's pid namespace begins with its infrastructure process), and with hostPID MUST see the node's pid 1, which is neither its command nor the pod's infrastructure process",
			srcHostNamespaces+"; "+srcIssue13Kubelet), specPIDNamespace},
		{kubeletBehavior("kubelet.security.sysctl-forbidden",
			"a pod setting an unsafe sysctl the node does not allow (kernel.msgmax) MUST be rejected: phase Failed with the reason SysctlForbidden and a Warning event with that reason",
			srcSysctls), specSysctlForbidden},
	}
}

// allowPrivileged labels the spec's namespace for the privileged Pod
// Security level (as Kubernetes' e2e framework does for such tests), so a
// cluster enforcing baseline by default admits the pods the spec needs.
func (e *kubeletEnv) allowPrivileged(ctx context.Context, g gomega.Gomega) {
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)
	_, err := e.client.CoreV1().Namespaces().Patch(ctx, e.ns, types.MergePatchType, patch, metav1.PatchOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "labelling namespace %s for the privileged Pod Security level", e.ns)
}

// securePod is a test pod (pausing) with the container security context sc.
func (e *kubeletEnv) securePod(name string, sc *corev1.SecurityContext) *corev1.Pod {
	p := e.testPod(name)
	p.Spec.Containers[0].SecurityContext = sc
	return p
}

// runningStatus starts pod, waits for it to run and returns its container's
// proc-status fields.
func (e *kubeletEnv) runningStatus(ctx context.Context, g gomega.Gomega, p *corev1.Pod) map[string]string {
	e.create(ctx, g, p)
	e.waitPod(ctx, g, p.Name, "Running", startTimeout, isRunning)
	out, errOut, code, err := e.exec(ctx, p.Name, true, behavior.TestBinary, string(behavior.ProcStatus))
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "exec proc-status in %s", p.Name)
	g.ExpectWithOffset(1, code).To(gomega.BeZero(), "exec proc-status in %s: %s", p.Name, errOut)
	return behavior.ParseProcStatus(out)
}

func capSet(g gomega.Gomega, st map[string]string, field string) uint64 {
	v, err := behavior.ParseCapabilities(st[field])
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "%s in %v", field, st)
	return v
}

func specRunAsUser(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	p := e.securePod("user", &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000)})
	p.Spec.SecurityContext = &corev1.PodSecurityContext{SupplementalGroups: []int64{4000}}
	st := e.runningStatus(ctx, g, p)
	g.Expect(strings.Fields(st["Uid"])).To(gomega.HaveExactElements("1000", "1000", "1000", "1000"), "Uid (real, effective, saved, fs)")
	g.Expect(strings.Fields(st["Gid"])).To(gomega.HaveExactElements("3000", "3000", "3000", "3000"), "Gid (real, effective, saved, fs)")
	g.Expect(strings.Fields(st["Groups"])).To(gomega.ContainElement("4000"), "Groups")
}

func specRunAsNonRoot(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	e.create(ctx, g, e.securePod("nonroot", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}))
	p := e.waitPod(ctx, g, "nonroot", "the waiting reason CreateContainerConfigError", startTimeout, func(p *corev1.Pod) bool {
		w := containerStatus(p).State.Waiting
		return w != nil && w.Reason == "CreateContainerConfigError"
	})
	g.Expect(containerStatus(p).State.Waiting.Message).To(gomega.ContainSubstring("runAsNonRoot"), "the waiting message names runAsNonRoot")
	g.Expect(p.Status.Phase).To(gomega.Equal(corev1.PodPending), "the pod stays Pending")
	g.Expect(containerStatus(p).RestartCount).To(gomega.BeZero(), "the container never ran")
	e.expectWarning(ctx, g, "nonroot", func(ev corev1.Event) bool { return strings.Contains(ev.Message, "runAsNonRoot") })
}

func specCapabilities(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	none := e.runningStatus(ctx, g, e.securePod("drop-all", &corev1.SecurityContext{
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}))
	g.Expect(capSet(g, none, "CapEff")).To(gomega.BeZero(), "drop ALL: CapEff %s", none["CapEff"])
	one := e.runningStatus(ctx, g, e.securePod("add-one", &corev1.SecurityContext{
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}}))
	g.Expect(capSet(g, one, "CapEff")).To(gomega.Equal(behavior.CapabilityMask("NET_BIND_SERVICE")), "drop ALL add NET_BIND_SERVICE: CapEff %s", one["CapEff"])
	plain := e.runningStatus(ctx, g, e.testPod("plain"))
	g.Expect(capSet(g, plain, "CapEff")&capSysAdmin).To(gomega.BeZero(), "no securityContext: CapEff %s must not hold CAP_SYS_ADMIN", plain["CapEff"])
}

func specPrivileged(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	st := e.runningStatus(ctx, g, e.securePod("priv", &corev1.SecurityContext{Privileged: ptr.To(true)}))
	eff, bnd := capSet(g, st, "CapEff"), capSet(g, st, "CapBnd")
	g.Expect(eff&capSysAdmin).NotTo(gomega.BeZero(), "privileged: CapEff %s must hold CAP_SYS_ADMIN", st["CapEff"])
	g.Expect(eff).To(gomega.Equal(bnd), "privileged: CapEff %s must be the whole bounding set %s", st["CapEff"], st["CapBnd"])
}

func specReadOnlyRoot(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	for _, ro := range []bool{true, false} {
		name := map[bool]string{true: "ro", false: "rw"}[ro]
		e.create(ctx, g, e.securePod(name, &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(ro)}))
		e.waitPod(ctx, g, name, "Running", startTimeout, isRunning)
		_, errOut, code, err := e.exec(ctx, name, true, behavior.TestBinary, string(behavior.Touch), "/written")
		g.Expect(err).NotTo(gomega.HaveOccurred(), "exec touch in %s", name)
		if ro {
			g.Expect(code).NotTo(gomega.BeZero(), "readOnlyRootFilesystem: writing /written must fail")
			g.Expect(strings.ToLower(errOut)).To(gomega.ContainSubstring("read-only"), "the write fails for a read-only file system")
		} else {
			g.Expect(code).To(gomega.BeZero(), "writable root: writing /written must succeed: %s", errOut)
		}
	}
}

func specNoNewPrivs(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	st := e.runningStatus(ctx, g, e.securePod("nnp", &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}))
	g.Expect(st["NoNewPrivs"]).To(gomega.Equal("1"), "allowPrivilegeEscalation false: NoNewPrivs")
}

func specSeccomp(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	st := e.runningStatus(ctx, g, e.securePod("seccomp-default", &corev1.SecurityContext{
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}))
	g.Expect(st["Seccomp"]).To(gomega.Equal("2"), "RuntimeDefault: Seccomp mode")
	st = e.runningStatus(ctx, g, e.securePod("seccomp-unconfined", &corev1.SecurityContext{
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}))
	g.Expect(st["Seccomp"]).To(gomega.Equal("0"), "Unconfined: Seccomp mode")
}

func specPIDNamespace(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	pid1 := func(p *corev1.Pod) string {
		e.create(ctx, g, p)
		e.waitPod(ctx, g, p.Name, "Running", startTimeout, isRunning)
		out, errOut, code, err := e.exec(ctx, p.Name, true, behavior.TestBinary, string(behavior.PID1))
		g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "exec pid1 in %s", p.Name)
		g.ExpectWithOffset(1, code).To(gomega.BeZero(), "exec pid1 in %s: %s", p.Name, errOut)
		return strings.TrimSpace(out)
	}
	g.Expect(pid1(e.testPod("own"))).To(gomega.Equal(behavior.TestBinary), "by default pid 1 is the container's command")
	shared := e.testPod("shared")
	shared.Spec.ShareProcessNamespace = ptr.To(true)
	g.Expect(pid1(shared)).NotTo(gomega.Equal(behavior.TestBinary), "shareProcessNamespace: pid 1 is the pod's infrastructure process")
	host := e.testPod("host")
	host.Spec.HostPID = true
	got := pid1(host)
	g.Expect(got).NotTo(gomega.BeEmpty(), "hostPID: pid 1 has a command line")
	g.Expect(got).NotTo(gomega.Equal(behavior.TestBinary), "hostPID: pid 1 is the node's, not the container's command")
	g.Expect(got).NotTo(gomega.HaveSuffix("/pause"), "hostPID: pid 1 is the node's, not the pod's infrastructure process")
}

func specSysctlForbidden(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	p := e.testPod("sysctl")
	p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: strconv.Itoa(65536)}}}
	e.create(ctx, g, p)
	got := e.waitPod(ctx, g, "sysctl", "phase Failed", startTimeout, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	g.Expect(got.Status.Reason).To(gomega.Equal("SysctlForbidden"), "the rejection's reason (message %q)", got.Status.Message)
	g.Expect(isRunning(got)).To(gomega.BeFalse())
	e.expectWarning(ctx, g, "sysctl", func(ev corev1.Event) bool { return ev.Reason == "SysctlForbidden" })
}

// expectWarning waits for a Warning event about pod that match accepts.
func (e *kubeletEnv) expectWarning(ctx context.Context, g gomega.Gomega, pod string, match func(corev1.Event) bool) {
	g.EventuallyWithOffset(1, func() error {
		list, err := e.client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var seen []string
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == "Pod" && ev.InvolvedObject.Name == pod {
				if ev.Type == corev1.EventTypeWarning && match(ev) {
					return nil
				}
				seen = append(seen, ev.Type+" "+ev.Reason+": "+ev.Message)
			}
		}
		return fmt.Errorf("no matching Warning event for pod %s; its events: %q", pod, seen)
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
}
