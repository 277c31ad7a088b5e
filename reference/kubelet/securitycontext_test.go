package kubelet

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

// imageUsers answers ImageStatus with a fixed user per image.
type imageUsers struct {
	cri.ImageManagerService
	uid  map[string]int64
	name map[string]string
}

func (f imageUsers) ImageStatus(_ context.Context, spec *runtimeapi.ImageSpec, _ bool) (*runtimeapi.ImageStatusResponse, error) {
	img := &runtimeapi.Image{Id: spec.Image}
	if u, ok := f.uid[spec.Image]; ok {
		img.Uid = &runtimeapi.Int64Value{Value: u}
	}
	img.Username = f.name[spec.Image]
	return &runtimeapi.ImageStatusResponse{Image: img}, nil
}

func securityKubelet() *Kubelet {
	return &Kubelet{
		cfg:    Config{NodeName: "n", SeccompProfileRoot: DefaultSeccompProfileRoot, PodLogsDir: "/tmp"},
		images: imageUsers{uid: map[string]int64{"root": 0, "app": 1000}, name: map[string]string{"named": "app"}},
	}
}

func securityPod(image string, psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
		Spec:       corev1.PodSpec{SecurityContext: psc, Containers: []corev1.Container{{Name: "c", Image: image, SecurityContext: sc}}},
	}
}

func TestContainerSecurityMapsTheSecurityContext(t *testing.T) {
	k := securityKubelet()
	pod := securityPod("root",
		&corev1.PodSecurityContext{RunAsUser: ptr.To[int64](5), RunAsGroup: ptr.To[int64](6), FSGroup: ptr.To[int64](7), SupplementalGroups: []int64{8},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("prof.json")}},
		&corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}}})
	pod.Spec.HostPID, pod.Spec.HostIPC = true, true
	cfg := &runtimeapi.ContainerConfig{}
	if err := k.applyContainerSecurity(context.Background(), pod, &pod.Spec.Containers[0], cfg); err != nil {
		t.Fatal(err)
	}
	sc := cfg.Linux.SecurityContext
	if sc.RunAsUser.GetValue() != 1000 || sc.RunAsGroup.GetValue() != 6 {
		t.Errorf("user %v group %v: the container's runAsUser wins, the pod's runAsGroup applies", sc.RunAsUser, sc.RunAsGroup)
	}
	if got := sc.SupplementalGroups; len(got) != 2 || got[0] != 7 || got[1] != 8 {
		t.Errorf("supplemental groups %v, want fsGroup then supplementalGroups [7 8]", got)
	}
	if !sc.ReadonlyRootfs || !sc.NoNewPrivs || sc.Privileged {
		t.Errorf("readonly %v no_new_privs %v privileged %v", sc.ReadonlyRootfs, sc.NoNewPrivs, sc.Privileged)
	}
	if c := sc.Capabilities; len(c.AddCapabilities) != 1 || c.AddCapabilities[0] != "NET_ADMIN" || c.DropCapabilities[0] != "ALL" {
		t.Errorf("capabilities %v: Kubernetes names as given", c)
	}
	if sc.Seccomp.ProfileType != runtimeapi.SecurityProfile_Localhost || sc.Seccomp.LocalhostRef != DefaultSeccompProfileRoot+"/prof.json" {
		t.Errorf("seccomp %v", sc.Seccomp)
	}
	if ns := sc.NamespaceOptions; ns.Pid != runtimeapi.NamespaceMode_NODE || ns.Ipc != runtimeapi.NamespaceMode_NODE || ns.Network != runtimeapi.NamespaceMode_POD {
		t.Errorf("namespaces %v", ns)
	}

	plain := securityPod("named", nil, nil)
	cfg = &runtimeapi.ContainerConfig{}
	if err := k.applyContainerSecurity(context.Background(), plain, &plain.Spec.Containers[0], cfg); err != nil {
		t.Fatal(err)
	}
	sc = cfg.Linux.SecurityContext
	if sc.RunAsUser != nil || sc.RunAsUsername != "app" || sc.NoNewPrivs || sc.Seccomp.ProfileType != runtimeapi.SecurityProfile_Unconfined {
		t.Errorf("defaults: user %v name %q no_new_privs %v seccomp %v", sc.RunAsUser, sc.RunAsUsername, sc.NoNewPrivs, sc.Seccomp)
	}
	if sc.NamespaceOptions.Pid != runtimeapi.NamespaceMode_CONTAINER {
		t.Errorf("default pid namespace %v", sc.NamespaceOptions.Pid)
	}
}

func TestRunAsNonRoot(t *testing.T) {
	k := securityKubelet()
	cases := []struct {
		image string
		sc    *corev1.SecurityContext
		want  string
	}{
		{"root", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}, "container has runAsNonRoot and image will run as root"},
		{"unknown", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}, "container has runAsNonRoot and image will run as root"},
		{"named", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}, "image has non-numeric user (app)"},
		{"root", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](0)}, "container's runAsUser breaks non-root policy"},
		{"root", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000)}, ""},
		{"app", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}, ""},
		{"root", &corev1.SecurityContext{RunAsNonRoot: ptr.To(false)}, ""},
	}
	for _, c := range cases {
		pod := securityPod(c.image, nil, c.sc)
		err := k.applyContainerSecurity(context.Background(), pod, &pod.Spec.Containers[0], &runtimeapi.ContainerConfig{})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %+v: %v", c.image, c.sc, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %+v: got %v, want %q", c.image, c.sc, err, c.want)
		}
	}
	// The pod's runAsNonRoot applies to its containers.
	pod := securityPod("root", &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, nil)
	if err := k.applyContainerSecurity(context.Background(), pod, &pod.Spec.Containers[0], &runtimeapi.ContainerConfig{}); err == nil {
		t.Error("pod-level runAsNonRoot with a root image: started")
	}
}

func TestSandboxSecurity(t *testing.T) {
	k := securityKubelet()
	pod := securityPod("root", &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000),
		Sysctls: []corev1.Sysctl{{Name: "net/ipv4/ip_local_port_range", Value: "1024 2048"}}},
		&corev1.SecurityContext{Privileged: ptr.To(true)})
	pod.Spec.ShareProcessNamespace = ptr.To(true)
	cfg := k.sandboxConfig(pod, 0)
	sc := cfg.Linux.SecurityContext
	if !sc.Privileged || sc.RunAsUser.GetValue() != 1000 || sc.NamespaceOptions.Pid != runtimeapi.NamespaceMode_POD {
		t.Errorf("sandbox security %v", sc)
	}
	if cfg.Linux.Sysctls["net.ipv4.ip_local_port_range"] != "1024 2048" {
		t.Errorf("sysctls %v", cfg.Linux.Sysctls)
	}
	pod.Spec.HostNetwork = true
	if cfg := k.sandboxConfig(pod, 0); cfg.Linux.SecurityContext.NamespaceOptions.Network != runtimeapi.NamespaceMode_NODE || cfg.Hostname != "" {
		t.Errorf("hostNetwork: %v hostname %q", cfg.Linux.SecurityContext.NamespaceOptions, cfg.Hostname)
	}
}

func TestAdmitSecurity(t *testing.T) {
	k := securityKubelet()
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		reason string
	}{
		{"plain", func(*corev1.Pod) {}, ""},
		{"safe sysctl", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}}}
		}, ""},
		{"unsafe sysctl", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}}
		}, "SysctlForbidden"},
		{"net sysctl with host network", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}}}
		}, "SysctlForbidden"},
		{"user namespaces", func(p *corev1.Pod) { p.Spec.HostUsers = ptr.To(false) }, "UserNamespacesNotSupported"},
		{"apparmor unconfined", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}}
		}, ""},
	}
	if !appArmorEnabled() {
		cases = append(cases, struct {
			name   string
			mutate func(*corev1.Pod)
			reason string
		}{"apparmor runtime default on a host without AppArmor", func(p *corev1.Pod) {
			p.Annotations = map[string]string{appArmorAnnotationPrefix + "c": "runtime/default"}
		}, "AppArmor"})
	}
	for _, c := range cases {
		pod := securityPod("root", nil, nil)
		c.mutate(pod)
		if reason, msg := k.admitSecurity(pod); reason != c.reason {
			t.Errorf("%s: reason %q (%s), want %q", c.name, reason, msg, c.reason)
		}
	}
}
