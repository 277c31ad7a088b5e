package simruntime

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// defaultCapabilities is containerd's default capability set of a
// non-privileged container.
var defaultCapabilities = behavior.CapabilityMask("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW",
	"SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")

// hostCapabilities is the bounding set of this process: what a privileged
// container gets (containerd gives it every capability it holds itself).
func hostCapabilities() uint64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		if v, err := behavior.ParseCapabilities(behavior.ParseProcStatus(string(b))["CapBnd"]); err == nil {
			return v
		}
	}
	var all uint64
	for _, bit := range behavior.CapabilityBits {
		all |= 1 << bit
	}
	return all
}

// hostPID1 is argv[0] of this machine's pid 1, what a container sharing the
// host's pid namespace sees.
func hostPID1() string {
	b, err := os.ReadFile("/proc/1/cmdline")
	if err != nil || len(b) == 0 {
		return "/sbin/init"
	}
	arg0, _, _ := strings.Cut(string(b), "\x00")
	return arg0
}

// processOf models the process a container of sandbox s would run with sc,
// as containerd and runc set it up; it refuses what containerd refuses.
func processOf(s *sandbox, sc *runtimeapi.LinuxContainerSecurityContext, argv []string) (behavior.Process, error) {
	var p behavior.Process
	if sc.GetPrivileged() && !s.privileged {
		return p, status.Error(codes.Unknown, "no privileged container allowed in sandbox")
	}
	switch {
	case sc.GetRunAsUser() != nil:
		p.UID = uint32(sc.GetRunAsUser().GetValue())
	case sc.GetRunAsUsername() != "":
		// The project's images know root and nobody (cri/images).
		switch u := sc.GetRunAsUsername(); u {
		case "root":
		case "nobody":
			p.UID, p.GID = 65534, 65534
		default:
			if n, err := strconv.ParseUint(u, 10, 32); err == nil {
				p.UID = uint32(n)
			} else {
				return p, status.Errorf(codes.Unknown, "failed to generate spec: no users found for %q", u)
			}
		}
	}
	if p.UID == 65534 && sc.GetRunAsUser() != nil {
		p.GID = 65534
	}
	if sc.GetRunAsGroup() != nil {
		p.GID = uint32(sc.GetRunAsGroup().GetValue())
	}
	// The process's groups: its primary group and the supplemental ones,
	// sorted without repeats as the kernel keeps them.
	groups := map[uint32]bool{p.GID: true}
	for _, g := range sc.GetSupplementalGroups() {
		groups[uint32(g)] = true
	}
	for g := range groups {
		p.Groups = append(p.Groups, g)
	}
	slices.Sort(p.Groups)
	var set uint64
	if sc.GetPrivileged() {
		set = hostCapabilities()
	} else {
		set = defaultCapabilities
		caps := sc.GetCapabilities()
		has := func(list []string, name string) bool {
			for _, n := range list {
				if strings.EqualFold(strings.TrimPrefix(n, "CAP_"), name) {
					return true
				}
			}
			return false
		}
		if has(caps.GetAddCapabilities(), "ALL") {
			set = hostCapabilities()
		}
		if has(caps.GetDropCapabilities(), "ALL") {
			set = 0
		}
		set |= behavior.CapabilityMask(caps.GetAddCapabilities()...)
		set &^= behavior.CapabilityMask(caps.GetDropCapabilities()...)
	}
	p.CapBnd = set
	if p.UID == 0 {
		// A non-root process keeps no effective capabilities across exec.
		p.CapEff = set
	}
	p.NoNewPrivs = sc.GetNoNewPrivs()
	p.ReadOnlyRoot = sc.GetReadonlyRootfs()
	if !sc.GetPrivileged() {
		switch prof := sc.GetSeccomp(); prof.GetProfileType() {
		case runtimeapi.SecurityProfile_RuntimeDefault:
			p.Seccomp = 2
		case runtimeapi.SecurityProfile_Localhost:
			if _, err := os.Stat(prof.GetLocalhostRef()); err != nil {
				return p, status.Errorf(codes.Unknown, "failed to generate seccomp spec opts: failed to generate seccomp spec opts: cannot load seccomp profile %q: %v", prof.GetLocalhostRef(), err)
			}
			p.Seccomp = 2
		}
	}
	pid := sc.GetNamespaceOptions().GetPid()
	if sc.GetNamespaceOptions() == nil {
		pid = s.nsOptions.GetPid()
	}
	switch pid {
	case runtimeapi.NamespaceMode_NODE:
		p.PID1 = hostPID1()
	case runtimeapi.NamespaceMode_POD:
		p.PID1 = behavior.PauseBinary
	default:
		if len(argv) > 0 {
			p.PID1 = argv[0]
		}
	}
	return p, nil
}
