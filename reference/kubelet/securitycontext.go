package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The pod and container security context, as the kubelet hands it to the
// runtime (after kubelet's kuberuntime security_context.go and
// pkg/securitycontext): what the pod asks for is applied by the runtime, or
// the pod is refused where it cannot be — a pod never runs looking as asked
// while it is not.

// DefaultSeccompProfileRoot is where Localhost seccomp profiles live.
const DefaultSeccompProfileRoot = "/var/lib/kubelet/seccomp"

// ErrCreateContainerConfig is the waiting reason of a container whose
// configuration the kubelet cannot build (kubelet's CreateContainerConfigError).
const ErrCreateContainerConfig = "CreateContainerConfigError"

// effectiveSecurityContext merges the pod's security context under the
// container's: the container's fields win (kubelet's
// DetermineEffectiveSecurityContext).
func effectiveSecurityContext(pod *corev1.Pod, c *corev1.Container) *corev1.SecurityContext {
	out := &corev1.SecurityContext{}
	if psc := pod.Spec.SecurityContext; psc != nil {
		out.SELinuxOptions = psc.SELinuxOptions
		out.RunAsUser = psc.RunAsUser
		out.RunAsGroup = psc.RunAsGroup
		out.RunAsNonRoot = psc.RunAsNonRoot
		out.SeccompProfile = psc.SeccompProfile
		out.AppArmorProfile = psc.AppArmorProfile
	}
	csc := c.SecurityContext
	if csc == nil {
		return out
	}
	if csc.SELinuxOptions != nil {
		out.SELinuxOptions = csc.SELinuxOptions
	}
	if csc.RunAsUser != nil {
		out.RunAsUser = csc.RunAsUser
	}
	if csc.RunAsGroup != nil {
		out.RunAsGroup = csc.RunAsGroup
	}
	if csc.RunAsNonRoot != nil {
		out.RunAsNonRoot = csc.RunAsNonRoot
	}
	if csc.SeccompProfile != nil {
		out.SeccompProfile = csc.SeccompProfile
	}
	if csc.AppArmorProfile != nil {
		out.AppArmorProfile = csc.AppArmorProfile
	}
	out.Capabilities = csc.Capabilities
	out.Privileged = csc.Privileged
	out.ReadOnlyRootFilesystem = csc.ReadOnlyRootFilesystem
	out.AllowPrivilegeEscalation = csc.AllowPrivilegeEscalation
	out.ProcMount = csc.ProcMount
	return out
}

// namespaceOptions are the pod's Linux namespaces: the node's for
// hostNetwork, hostPID and hostIPC; one pid namespace for the whole pod
// with shareProcessNamespace; otherwise the pod's network and IPC and the
// container's own pid namespace.
func namespaceOptions(pod *corev1.Pod) *runtimeapi.NamespaceOption {
	ns := &runtimeapi.NamespaceOption{
		Network: runtimeapi.NamespaceMode_POD,
		Pid:     runtimeapi.NamespaceMode_CONTAINER,
		Ipc:     runtimeapi.NamespaceMode_POD,
	}
	if pod.Spec.HostNetwork {
		ns.Network = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.HostIPC {
		ns.Ipc = runtimeapi.NamespaceMode_NODE
	}
	switch {
	case pod.Spec.HostPID:
		ns.Pid = runtimeapi.NamespaceMode_NODE
	case pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace:
		ns.Pid = runtimeapi.NamespaceMode_POD
	}
	return ns
}

// hasPrivilegedContainer reports whether any container of pod is privileged:
// the runtime only lets privileged containers into a privileged sandbox.
func hasPrivilegedContainer(pod *corev1.Pod) bool {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
				return true
			}
		}
	}
	return false
}

// supplementalGroups are the pod's supplemental groups, fsGroup first.
func supplementalGroups(pod *corev1.Pod) []int64 {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		return nil
	}
	var out []int64
	if psc.FSGroup != nil {
		out = append(out, *psc.FSGroup)
	}
	return append(out, psc.SupplementalGroups...)
}

// seccompProfile is the CRI seccomp profile of a pod (c nil) or container.
func (k *Kubelet) seccompProfile(pod *corev1.Pod, c *corev1.Container) *runtimeapi.SecurityProfile {
	var p *corev1.SeccompProfile
	if pod.Spec.SecurityContext != nil {
		p = pod.Spec.SecurityContext.SeccompProfile
	}
	if c != nil && c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
		p = c.SecurityContext.SeccompProfile
	}
	if p == nil {
		if k.cfg.SeccompDefault {
			return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
		}
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
	}
	switch p.Type {
	case corev1.SeccompProfileTypeRuntimeDefault:
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	case corev1.SeccompProfileTypeLocalhost:
		ref := ""
		if p.LocalhostProfile != nil {
			ref = filepath.Join(k.cfg.SeccompProfileRoot, *p.LocalhostProfile)
		}
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: ref}
	}
	return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
}

// appArmorAnnotationPrefix is the deprecated per-container AppArmor
// annotation, still honoured by the kubelet.
const appArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"

// appArmorProfile is the container's AppArmor profile (field, or the
// deprecated annotation); nil when none is asked for.
func appArmorProfile(pod *corev1.Pod, c *corev1.Container) *corev1.AppArmorProfile {
	if c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil {
		return c.SecurityContext.AppArmorProfile
	}
	if v, ok := pod.Annotations[appArmorAnnotationPrefix+c.Name]; ok {
		switch {
		case v == "runtime/default":
			return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
		case v == "unconfined":
			return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		case strings.HasPrefix(v, "localhost/"):
			name := strings.TrimPrefix(v, "localhost/")
			return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: &name}
		}
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.AppArmorProfile
	}
	return nil
}

// appArmorEnabled reports whether the host enforces AppArmor.
func appArmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
}

// safeSysctls are the namespaced sysctls a pod may set without the node
// allowing unsafe ones (Kubernetes' safe set).
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced":              true,
	"net.ipv4.ip_local_port_range":        true,
	"net.ipv4.tcp_syncookies":             true,
	"net.ipv4.ping_group_range":           true,
	"net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.ip_local_reserved_ports":    true,
	"net.ipv4.tcp_keepalive_time":         true,
	"net.ipv4.tcp_fin_timeout":            true,
	"net.ipv4.tcp_keepalive_intvl":        true,
	"net.ipv4.tcp_keepalive_probes":       true,
	"net.ipv4.tcp_rmem":                   true,
	"net.ipv4.tcp_wmem":                   true,
}

// sysctlName normalises a sysctl written with slashes (net/ipv4/…) to dots.
func sysctlName(n string) string {
	if strings.Contains(n, "/") && !strings.HasPrefix(n, "/") {
		first := strings.IndexAny(n, "./")
		if first >= 0 && n[first] == '/' {
			return strings.ReplaceAll(n, "/", ".")
		}
	}
	return n
}

// admitSecurity is the kubelet's admission of a pod's security settings
// before anything of it runs: a pod asking for what this node cannot
// enforce is rejected (phase Failed) with kubelet's reason and message. It
// returns "" when the pod is admitted.
func (k *Kubelet) admitSecurity(pod *corev1.Pod) (reason, message string) {
	if psc := pod.Spec.SecurityContext; psc != nil {
		for _, s := range psc.Sysctls {
			name := sysctlName(s.Name)
			if !safeSysctls[name] {
				return "SysctlForbidden", fmt.Sprintf("forbidden sysctl: %q not allowlisted", name)
			}
			if pod.Spec.HostNetwork && strings.HasPrefix(name, "net.") {
				return "SysctlForbidden", fmt.Sprintf("forbidden sysctl: %q not allowed with host net enabled", name)
			}
			if pod.Spec.HostIPC && strings.HasPrefix(name, "kernel.shm") {
				return "SysctlForbidden", fmt.Sprintf("forbidden sysctl: %q not allowed with host ipc enabled", name)
			}
		}
		if psc.SupplementalGroupsPolicy != nil && *psc.SupplementalGroupsPolicy == corev1.SupplementalGroupsPolicyStrict {
			return "SupplementalGroupsPolicyNotSupported", "SupplementalGroupsPolicy=Strict is not supported in this node"
		}
	}
	if pod.Spec.HostUsers != nil && !*pod.Spec.HostUsers {
		return "UserNamespacesNotSupported", "hostUsers: false (user namespaces) is not supported by this node's container runtime"
	}
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			p := appArmorProfile(pod, &list[i])
			if p != nil && p.Type != corev1.AppArmorProfileTypeUnconfined && !appArmorEnabled() {
				return "AppArmor", "Cannot enforce AppArmor: AppArmor is not enabled on the host"
			}
		}
	}
	return "", ""
}

// applySandboxSecurity sets the sandbox's namespaces, identity, privilege,
// seccomp profile and sysctls from the pod.
func (k *Kubelet) applySandboxSecurity(pod *corev1.Pod, cfg *runtimeapi.PodSandboxConfig) {
	sc := &runtimeapi.LinuxSandboxSecurityContext{
		NamespaceOptions:   namespaceOptions(pod),
		Privileged:         hasPrivilegedContainer(pod),
		SupplementalGroups: supplementalGroups(pod),
		Seccomp:            k.seccompProfile(pod, nil),
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		if o := psc.SELinuxOptions; o != nil {
			sc.SelinuxOptions = &runtimeapi.SELinuxOption{User: o.User, Role: o.Role, Type: o.Type, Level: o.Level}
		}
		if len(psc.Sysctls) > 0 {
			cfg.Linux.Sysctls = map[string]string{}
			for _, s := range psc.Sysctls {
				cfg.Linux.Sysctls[sysctlName(s.Name)] = s.Value
			}
		}
	}
	cfg.Linux.SecurityContext = sc
}

// imageUser is the user an image runs as: its numeric uid, or a user name
// (kubelet's getImageUser: an image that says nothing runs as root).
func (k *Kubelet) imageUser(ctx context.Context, image string) (*int64, string, error) {
	st, err := k.images.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: image, UserSpecifiedImage: image}, false)
	if err != nil {
		return nil, "", fmt.Errorf("failed to get image status %q: %w", image, err)
	}
	if img := st.GetImage(); img != nil {
		if img.Uid != nil {
			uid := img.Uid.Value
			return &uid, "", nil
		}
		if img.Username != "" {
			return nil, img.Username, nil
		}
	}
	return new(int64), "", nil
}

// verifyRunAsNonRoot refuses a container that must not run as root but
// would (kubelet's verifyRunAsNonRoot, with its messages).
func verifyRunAsNonRoot(pod *corev1.Pod, c *corev1.Container, sc *corev1.SecurityContext, uid *int64, username string) error {
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	podRef := fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", podRef, c.Name)
		}
		return nil
	}
	switch {
	case uid != nil && *uid == 0:
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podRef, c.Name)
	case uid == nil && username != "":
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", username, podRef, c.Name)
	}
	return nil
}

// applyContainerSecurity sets the container's security context in cfg: the
// user and groups, privilege, capabilities (Kubernetes names, as given),
// read-only root, no_new_privs, seccomp, AppArmor and namespaces. It
// refuses (the container's CreateContainerConfigError) what cannot be
// applied as asked.
func (k *Kubelet) applyContainerSecurity(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cfg *runtimeapi.ContainerConfig) error {
	esc := effectiveSecurityContext(pod, c)
	uid, username, err := k.imageUser(ctx, c.Image)
	if err != nil {
		return err
	}
	if err := verifyRunAsNonRoot(pod, c, esc, uid, username); err != nil {
		return err
	}
	sc := &runtimeapi.LinuxContainerSecurityContext{
		NamespaceOptions:   namespaceOptions(pod),
		SupplementalGroups: supplementalGroups(pod),
		Seccomp:            k.seccompProfile(pod, c),
		Privileged:         esc.Privileged != nil && *esc.Privileged,
		ReadonlyRootfs:     esc.ReadOnlyRootFilesystem != nil && *esc.ReadOnlyRootFilesystem,
		NoNewPrivs:         esc.AllowPrivilegeEscalation != nil && !*esc.AllowPrivilegeEscalation,
	}
	switch {
	case esc.RunAsUser != nil:
		sc.RunAsUser = &runtimeapi.Int64Value{Value: *esc.RunAsUser}
	case uid != nil:
		sc.RunAsUser = &runtimeapi.Int64Value{Value: *uid}
	default:
		sc.RunAsUsername = username
	}
	if esc.RunAsGroup != nil {
		sc.RunAsGroup = &runtimeapi.Int64Value{Value: *esc.RunAsGroup}
	}
	if caps := esc.Capabilities; caps != nil {
		sc.Capabilities = &runtimeapi.Capability{}
		for _, a := range caps.Add {
			sc.Capabilities.AddCapabilities = append(sc.Capabilities.AddCapabilities, string(a))
		}
		for _, d := range caps.Drop {
			sc.Capabilities.DropCapabilities = append(sc.Capabilities.DropCapabilities, string(d))
		}
	}
	if o := esc.SELinuxOptions; o != nil {
		sc.SelinuxOptions = &runtimeapi.SELinuxOption{User: o.User, Role: o.Role, Type: o.Type, Level: o.Level}
	}
	if esc.ProcMount != nil && *esc.ProcMount == corev1.UnmaskedProcMount {
		return fmt.Errorf("securityContext.procMount Unmasked is not supported by this node")
	}
	if p := appArmorProfile(pod, c); p != nil {
		switch p.Type {
		case corev1.AppArmorProfileTypeRuntimeDefault:
			sc.Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
		case corev1.AppArmorProfileTypeLocalhost:
			name := ""
			if p.LocalhostProfile != nil {
				name = *p.LocalhostProfile
			}
			sc.Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: name}
		default:
			sc.Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
		}
		if p.Type != corev1.AppArmorProfileTypeUnconfined && !appArmorEnabled() {
			return fmt.Errorf("Cannot enforce AppArmor: AppArmor is not enabled on the host (container %s, securityContext.appArmorProfile)", c.Name)
		}
	}
	if cfg.Linux == nil {
		cfg.Linux = &runtimeapi.LinuxContainerConfig{}
	}
	cfg.Linux.SecurityContext = sc
	return nil
}
