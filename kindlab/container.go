package kindlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
)

// Node runtimes: how a lab's nodes are made.
const (
	// NodeContainers makes every node a container run by runc from an OCI bundle: its own
	// root filesystem (the lab's node image), PID, mount, UTS (hostname = node name), IPC,
	// cgroup and network namespaces, and a cgroup whose CPU and memory limits are the capacity
	// the node reports.
	NodeContainers = "container"
	// NodeNamespaces makes every node a network namespace with the node agent in it, sharing
	// the machine's filesystem, PIDs and cgroups (labs before node containers).
	NodeNamespaces = "netns"
)

// containers reports whether the lab's nodes are containers.
func (l *Lab) containers() bool { return l.NodeRuntime == NodeContainers }

// nodeProgram is where the node image holds the clusterkit executable.
const nodeProgram = "/usr/local/bin/clusterkit"

// nodeImageDir is the lab's node image, unpacked: one read-only root filesystem every node
// container of the lab starts from.
func (l *Lab) nodeImageDir() string { return filepath.Join(l.Dir, "node-image") }

// runcRoot is where runc keeps the state of the lab's node containers (each lab its own, so
// labs never see each other's containers).
func (l *Lab) runcRoot() string { return filepath.Join(l.Dir, "runc") }

// containerID names a node's container: unique on the machine (the lab's index is).
func (l *Lab) containerID(n Node) string { return fmt.Sprintf("cklab%d-%s", l.Index, n.Name) }

// cgroupParent is the cgroup (in every hierarchy) holding the lab's node containers.
func (l *Lab) cgroupParent() string { return fmt.Sprintf("/clusterkit/cklab%d", l.Index) }

// buildNodeImage makes the lab's node image from bin (the clusterkit executable) and the
// machine's containerd, containerd-shim-runc-v2, runc, ip and CNI plugins, each with the shared
// libraries it loads, plus busybox (a shell and the usual tools) when the machine has it. Files
// are hard links to the machine's where the file system allows, else copies.
func (l *Lab) buildNodeImage(ctx context.Context, bin string) error {
	root := l.nodeImageDir()
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	var files []images.File
	add := func(host, inImage string) error {
		fs, err := images.WithLibraries(ctx, host, inImage)
		if err != nil {
			return err
		}
		files = append(files, fs...)
		return nil
	}
	if err := add(bin, nodeProgram); err != nil {
		return err
	}
	for _, prog := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ip"} {
		p, err := exec.LookPath(prog)
		if err != nil {
			return fmt.Errorf("the node image needs %s: %w (scripts/install-containerd.sh installs it)", prog, err)
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		if err := add(real, "/usr/bin/"+prog); err != nil {
			return err
		}
	}
	// iptables for the CNI portmap plugin (hostPort): the machine's multi-call xtables binary
	// under each name, with its extensions and the tables it reads names from.
	var xtables []string
	for _, prog := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		p, err := exec.LookPath(prog)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		if err := add(real, real); err != nil {
			return err
		}
		xtables = append(xtables, "/usr/sbin/"+prog, real)
	}
	if len(xtables) == 0 {
		return errors.New("the node image needs iptables (the CNI portmap plugin runs it for hostPort): install Debian's iptables")
	}
	exts, _ := filepath.Glob("/usr/lib/*/xtables/*.so")
	for _, e := range exts {
		files = append(files, images.File{Path: e, From: e, Mode: 0o644})
	}
	for _, f := range []string{"/etc/protocols", "/etc/services", "/etc/ethertypes"} {
		if _, err := os.Stat(f); err == nil {
			files = append(files, images.File{Path: f, From: f, Mode: 0o644})
		}
	}
	plugins, err := os.ReadDir(containerd.CNIBinDir)
	if err != nil {
		return fmt.Errorf("the node image needs the CNI plugins: %w (scripts/install-containerd.sh installs them)", err)
	}
	for _, p := range plugins {
		if p.Type().IsRegular() {
			files = append(files, images.File{Path: filepath.Join(containerd.CNIBinDir, p.Name()), From: filepath.Join(containerd.CNIBinDir, p.Name()), Mode: 0o755})
		}
	}
	busybox, _ := exec.LookPath("busybox")
	if busybox != "" {
		if err := add(busybox, "/bin/busybox"); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := placeFile(filepath.Join(root, f.Path), f.From); err != nil {
			return fmt.Errorf("node image: %w", err)
		}
	}
	if busybox != "" {
		for _, tool := range []string{"sh", "ls", "cat", "ps", "mount", "hostname", "df", "free", "top", "kill", "grep", "find", "du", "env", "sleep", "nproc"} {
			if err := os.Symlink("busybox", filepath.Join(root, "bin", tool)); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "var", "etc", "root", "usr/sbin", "sbin", strings.TrimPrefix(l.Dir, "/")} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	etc := map[string]string{ // written over what was copied: the node's own
		"passwd":        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"group":         "root:x:0:\nnogroup:x:65534:\n",
		"hosts":         "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
		"resolv.conf":   "", // nodes have no upstream resolver: the lab reaches nothing outside
		"nsswitch.conf": "hosts: files dns\n",
		"os-release":    "NAME=\"clusterkit node\"\nID=clusterkit\nPRETTY_NAME=\"clusterkit lab node\"\n",
	}
	for name, content := range etc {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for i := 0; i+1 < len(xtables); i += 2 {
		if xtables[i] == xtables[i+1] {
			continue
		}
		if err := os.Symlink(xtables[i+1], filepath.Join(root, xtables[i])); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	// runc is looked up in /usr/sbin by habit; the image has it in /usr/bin.
	return os.Symlink("/usr/bin/runc", filepath.Join(root, "usr/sbin/runc"))
}

// placeFile puts the file from at path: a hard link when both are on one file system, else a
// copy with from's mode.
func placeFile(path, from string) error {
	if _, err := os.Lstat(path); err == nil {
		return nil // a library two programs share
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(from)
	if err != nil {
		return err
	}
	if err := os.Link(real, path); err == nil {
		return nil
	}
	st, err := os.Stat(real)
	if err != nil {
		return err
	}
	return copyFile(real, path, st.Mode().Perm())
}

// nodeSpec is the OCI runtime configuration of node n's container: the node agent as the
// container's first process under the clusterkit executable's init (which reaps orphans), the
// node image read-only as root with the node's writable state bound in, privileged (it runs its
// own containerd and runc), in the node's network namespace made by createNetwork.
func (l *Lab) nodeSpec(n Node, args []string) (*specs.Spec, error) {
	capacity := capacityOf(l.NodeCapacity, n.Capacity)
	// As many open files as the machine lets this process have (raising it needs more than root
	// in some sandboxes).
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		return nil, err
	}
	caps := allCapabilities()
	dataDir := filepath.Join(l.Dir, "data", n.Name)
	rw := []string{"rbind", "rw"}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "rw"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "rw"}},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
		{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755"}},
		{Destination: "/var", Type: "bind", Source: filepath.Join(dataDir, "var"), Options: rw},
		// The node's containerd and kubelet state, where a node keeps them.
		{Destination: "/var/lib/containerd", Type: "bind", Source: filepath.Join(dataDir, "containerd"), Options: rw},
		{Destination: "/var/lib/kubelet", Type: "bind", Source: filepath.Join(dataDir, "kubelet"), Options: rw},
		// The lab's directory at its own path: the node's configuration, identity and logs.
		{Destination: l.Dir, Type: "bind", Source: l.Dir, Options: rw},
	}
	if _, err := os.Stat("/lib/modules"); err == nil {
		mounts = append(mounts, specs.Mount{Destination: "/lib/modules", Type: "bind", Source: "/lib/modules", Options: []string{"rbind", "ro"}})
	}
	resources := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
	}
	if cpu, ok := capacity[corev1.ResourceCPU]; ok && cpu.MilliValue() > 0 {
		period := uint64(100000)
		quota := cpu.MilliValue() * int64(period) / 1000
		resources.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if mem, ok := capacity[corev1.ResourceMemory]; ok && mem.Value() > 0 {
		limit := mem.Value()
		resources.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	return &specs.Spec{
		Version:  specs.Version,
		Hostname: n.Name,
		Root:     &specs.Root{Path: filepath.Join(l.nodeImageDir()), Readonly: true},
		Process: &specs.Process{
			Args: args,
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"HOME=/root",
				nodeContainerEnv + "=" + n.Name,
			},
			Cwd:          "/",
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			Rlimits:      []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile.Max, Soft: nofile.Max}},
		},
		Mounts: mounts,
		Linux: &specs.Linux{
			CgroupsPath: l.cgroupParent() + "/" + n.Name,
			Resources:   resources,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.IPCNamespace}, {Type: specs.CgroupNamespace},
				{Type: specs.NetworkNamespace, Path: nsPath(n.NetNS)},
			},
			// Mounts made inside (containerd's, the kubelet's) stay inside; the machine's reach in.
			RootfsPropagation: "rslave",
		},
	}, nil
}

// nodeContainerEnv is set, to the node's name, in a node container's environment.
const nodeContainerEnv = "CLUSTERKIT_LAB_NODE"

// InNodeContainer reports whether this process runs inside a lab's node container.
func InNodeContainer() bool { return os.Getenv(nodeContainerEnv) != "" }

// allCapabilities is every capability this process holds: a node container is privileged, as
// kind's nodes are (its containerd and runc make containers of their own).
func allCapabilities() []string {
	names := []string{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
		"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
		"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
		"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
		"AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
		"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"}
	// Only what this process may pass on (a sandbox may withhold some, CAP_SYS_RESOURCE here).
	bounding := ^uint64(0)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil {
					bounding = m
				}
			}
		}
	}
	var out []string
	for i, n := range names {
		if bounding&(1<<i) != 0 {
			out = append(out, "CAP_"+n)
		}
	}
	return out
}

// startNodeContainer writes node n's bundle and starts its container with runc, detached, its
// output appended to logPath; it returns the host PID of the container's first process.
func (l *Lab) startNodeContainer(ctx context.Context, n Node, logPath string, args []string) (int, error) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return 0, fmt.Errorf("node containers need runc: %w (scripts/install-containerd.sh installs it)", err)
	}
	dataDir := filepath.Join(l.Dir, "data", n.Name)
	for _, d := range []string{"var/lib", "containerd", "kubelet"} {
		if err := os.MkdirAll(filepath.Join(dataDir, d), 0o755); err != nil {
			return 0, err
		}
	}
	bundle := filepath.Join(l.Dir, "bundles", n.Name)
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		return 0, err
	}
	spec, err := l.nodeSpec(n, args)
	if err != nil {
		return 0, err
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	pidFile := filepath.Join(bundle, "pid")
	_ = os.Remove(pidFile)
	id := l.containerID(n)
	// A container of that name left by a node that died is removed first.
	_ = exec.CommandContext(ctx, runc, "--root", l.runcRoot(), "delete", "--force", id).Run()
	cmd := exec.CommandContext(ctx, runc, "--root", l.runcRoot(), "run", "--detach",
		"--bundle", bundle, "--pid-file", pidFile, id)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: Ctrl-C in the terminal that created the lab does not reach the node.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("starting node container %s with runc: %w (see %s)", id, err, logPath)
	}
	pb, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(pb)))
}

// stopNodeContainer stops node n's container: SIGTERM to the node agent (which removes its
// pods), SIGKILL to everything in the container after grace, then runc's delete, which removes
// the container's cgroups.
func (l *Lab) stopNodeContainer(ctx context.Context, n Node, grace time.Duration) error {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return err
	}
	id := l.containerID(n)
	var errs []error
	if l.owns(n.PID) {
		if err := l.stopOwned(ctx, n.PID, grace); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(l.runcRoot()); err != nil {
		return errors.Join(errs...) // never started: runc would make its root
	}
	if out, err := exec.Command(runc, "--root", l.runcRoot(), "delete", "--force", id).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "does not exist") && !strings.Contains(string(out), "not exist") {
		errs = append(errs, fmt.Errorf("runc delete %s: %w: %s", id, err, strings.TrimSpace(string(out))))
	}
	return errors.Join(errs...)
}

// removeCgroupParent removes the lab's cgroup (empty once its node containers are deleted) from
// every cgroup hierarchy.
func (l *Lab) removeCgroupParent() {
	_ = filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == "/sys/fs/cgroup" {
			return nil
		}
		if strings.Count(strings.TrimPrefix(path, "/sys/fs/cgroup/"), "/") > 0 {
			return fs.SkipDir
		}
		lab := filepath.Join(path, l.cgroupParent())
		_ = removeCgroupTree(lab)
		_ = syscall.Rmdir(filepath.Dir(lab)) // /clusterkit, when no other lab uses it
		return fs.SkipDir
	})
}

// removeCgroupTree removes a cgroup directory and the cgroups below it, deepest first.
func removeCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			_ = removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	return syscall.Rmdir(dir)
}
