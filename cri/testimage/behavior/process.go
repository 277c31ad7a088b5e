package behavior

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Process is what the security exec commands (proc-status, pid1, touch)
// observe of a container's process. The simulated runtime fills it from the
// container's CRI security context; in a real container ExecEnv.Process is
// nil and the commands read /proc and the file system.
type Process struct {
	// UID and GID are the process's user and primary group; Groups its
	// supplementary groups.
	UID, GID uint32
	Groups   []uint32
	// CapEff and CapBnd are the effective and bounding capability sets.
	CapEff, CapBnd uint64
	// NoNewPrivs is the no_new_privs bit.
	NoNewPrivs bool
	// Seccomp is the seccomp mode (0 disabled, 2 filter).
	Seccomp int
	// PID1 is argv[0] of the process with pid 1 in the container's pid
	// namespace.
	PID1 string
	// ReadOnlyRoot: writes to the root file system fail with EROFS.
	ReadOnlyRoot bool
}

// procStatusFields are the /proc/self/status lines proc-status prints, in
// the kernel's order.
var procStatusFields = []string{"Uid", "Gid", "Groups", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp"}

// Status renders p as the kernel writes those /proc/self/status lines.
func (p Process) Status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", p.UID, p.UID, p.UID, p.UID)
	fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", p.GID, p.GID, p.GID, p.GID)
	groups := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		groups[i] = strconv.FormatUint(uint64(g), 10)
	}
	fmt.Fprintf(&b, "Groups:\t%s\n", strings.Join(groups, " "))
	fmt.Fprintf(&b, "CapEff:\t%016x\n", p.CapEff)
	fmt.Fprintf(&b, "CapBnd:\t%016x\n", p.CapBnd)
	nnp := 0
	if p.NoNewPrivs {
		nnp = 1
	}
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\n", nnp)
	fmt.Fprintf(&b, "Seccomp:\t%d\n", p.Seccomp)
	return b.String()
}

// ParseProcStatus reads the fields proc-status prints ("CapEff" → "000001ff…").
func ParseProcStatus(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// realProcStatus prints this process's /proc/self/status lines.
func realProcStatus() ExecResult {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ExecResult{Stderr: err.Error() + "\n", ExitCode: 1}
	}
	fields := ParseProcStatus(string(b))
	var out strings.Builder
	for _, f := range procStatusFields {
		if v, ok := fields[f]; ok {
			fmt.Fprintf(&out, "%s:\t%s\n", f, v)
		}
	}
	return ExecResult{Stdout: out.String()}
}

// realPID1 prints argv[0] of pid 1.
func realPID1() ExecResult {
	b, err := os.ReadFile("/proc/1/cmdline")
	if err != nil {
		return ExecResult{Stderr: "pid1: " + err.Error() + "\n", ExitCode: 1}
	}
	arg0, _, _ := strings.Cut(string(b), "\x00")
	return ExecResult{Stdout: arg0 + "\n"}
}

// realTouch creates (or truncates) path.
func realTouch(path string) ExecResult {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return touchFailed(path, err)
	}
	_ = f.Close()
	return ExecResult{}
}

func touchFailed(path string, err error) ExecResult {
	return writeResult("touch", path, err)
}

// RealStat stats path (following links) on the real file system.
func RealStat(path string) (FileStat, error) {
	info, err := os.Stat(path)
	if err != nil {
		return FileStat{}, err
	}
	out := FileStat{Mode: info.Mode()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		out.UID, out.GID = st.Uid, st.Gid
	}
	return out, nil
}

// RealStatFS is `statfs PATH` on the real kernel: "TYPE BYTES".
func RealStatFS(path string) (string, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return "", err
	}
	names := map[int64]string{0x01021994: "tmpfs", 0x794c7630: "overlay", 0xef53: "ext4", 0x58465342: "xfs", 0x9123683e: "btrfs"}
	name, ok := names[int64(st.Type)]
	if !ok {
		name = fmt.Sprintf("%#x", st.Type)
	}
	return fmt.Sprintf("%s %d", name, int64(st.Blocks)*int64(st.Bsize)), nil
}

// realWrite writes data to path (created with mode 0644 or truncated).
func realWrite(path string, data []byte) error {
	return os.WriteFile(path, data, 0o644)
}

// writeResult is the outcome of touch or write: exit 1 with "CMD: PATH: error" on failure.
func writeResult(cmd, path string, err error) ExecResult {
	if err == nil {
		return ExecResult{}
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return ExecResult{Stderr: fmt.Sprintf("%s: %s: %v\n", cmd, path, err), ExitCode: 1}
}

// SimulatedWriteAllowed is the permission check of the simulator's writes outside mounted
// volumes: a read-only root file system refuses every write (EROFS); the images' directories
// belong to root with mode 0755 but for /tmp (1777), so another user may only write there.
func SimulatedWriteAllowed(p *Process, path string) error {
	if p.ReadOnlyRoot {
		return syscall.EROFS
	}
	if p.UID != 0 && filepath.Dir(path) != "/tmp" {
		return syscall.EACCES
	}
	return nil
}

// simulatedTouch acts out touch against a modelled process.
func simulatedTouch(p *Process, path string) ExecResult {
	if p.ReadOnlyRoot {
		return touchFailed(path, syscall.EROFS)
	}
	// The images' directories belong to root with mode 0755, but for /tmp
	// (1777): another user may only create files there.
	if p.UID != 0 && filepath.Dir(path) != "/tmp" {
		return touchFailed(path, syscall.EACCES)
	}
	return ExecResult{}
}

// CapabilityBits maps Linux capability names (without CAP_) to their bit.
var CapabilityBits = map[string]uint{
	"CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
	"SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10,
	"NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
	"SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20,
	"SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
	"SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30,
	"SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
	"BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}

// CapabilityMask is the set of the named capabilities (with or without the
// CAP_ prefix); unknown names are ignored.
func CapabilityMask(names ...string) uint64 {
	var m uint64
	for _, n := range names {
		if bit, ok := CapabilityBits[strings.TrimPrefix(strings.ToUpper(n), "CAP_")]; ok {
			m |= 1 << bit
		}
	}
	return m
}

// ParseCapabilities reads a /proc status capability set ("00000000a80425fb").
func ParseCapabilities(hex string) (uint64, error) {
	return strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
}
