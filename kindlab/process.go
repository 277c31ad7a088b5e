package kindlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spawn starts a detached process (its own session, so it outlives its parent and a terminal's
// Ctrl-C) with stdout and stderr appended to logPath; with netns set it starts inside that
// network namespace (nsenter execs the program: the PID is the program's).
func spawn(logPath, netns, bin string, args ...string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	name, argv := bin, args
	if netns != "" {
		name, argv = "nsenter", append([]string{"--net=" + netns, "--", bin}, args...)
	}
	cmd := exec.Command(name, argv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", bin, err)
	}
	pid := cmd.Process.Pid
	// Reap it when it exits while this process still runs; after that, init does.
	go func() { _ = cmd.Wait() }()
	return pid, nil
}

// NodeRunning reports whether node n's process (its container's init, or its agent) runs.
func (l *Lab) NodeRunning(n Node) bool { return l.owns(n.PID) }

// owns reports whether pid is alive and one of this lab's processes — one of its arguments is
// the lab's directory or a path in it. A PID the lab recorded may since have ended and been
// given to another process of the machine: that one is never the lab's to signal.
func (l *Lab) owns(pid int) bool {
	if pid <= 0 || !alive(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	for _, arg := range strings.Split(string(b), "\x00") {
		if arg == l.Dir || strings.HasPrefix(arg, l.Dir+"/") {
			return true
		}
	}
	return false
}

// stopOwned stops pid as stop does, but only while it is the lab's (owns).
func (l *Lab) stopOwned(ctx context.Context, pid int, grace time.Duration) error {
	if !l.owns(pid) {
		return nil
	}
	return stopWhile(ctx, pid, grace, l.owns)
}

// alive reports whether the process exists and is not a zombie.

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command in parentheses: "pid (comm) S ...".
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z'
		}
	}
	return true
}

// stopWhile sends SIGTERM to pid, waits up to grace for it to exit, then SIGKILLs it — as long
// as running(pid) holds (the PID is still the process meant).
func stopWhile(ctx context.Context, pid int, grace time.Duration, running func(int) bool) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("signalling pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for running(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("pid %d did not stop within %s after SIGTERM; killed it", pid, grace)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// killShims kills, with everything they started, the containerd shims that still serve a
// containerd under dir (their command line names a socket below it): what a node whose agent
// had to be killed before it removed its pods leaves running — pods' processes holding the
// nodes' network namespaces and the bridge's veths. It returns how many shims it killed.
func killShims(dir string) (int, error) {
	marker := filepath.Clean(dir) + string(filepath.Separator)
	procs, err := processTable()
	if err != nil {
		return 0, err
	}
	var shims []int
	for pid, p := range procs {
		if strings.Contains(p.cmdline, "containerd-shim") && strings.Contains(p.cmdline, marker) {
			shims = append(shims, pid)
		}
	}
	// A shim's fork that has not exec'd yet shares its command line: count the topmost only.
	matched := map[int]bool{}
	for _, pid := range shims {
		matched[pid] = true
	}
	shims = slices.DeleteFunc(shims, func(pid int) bool { return matched[procs[pid].ppid] })
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var errs []error
	for _, shim := range shims {
		// The shim first, so that it cannot start or restart anything, then its descendants.
		tree := []int{shim}
		for i := 0; i < len(tree); i++ {
			tree = append(tree, children[tree[i]]...)
		}
		for _, pid := range tree {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("killing pid %d: %w", pid, err))
			}
		}
	}
	return len(shims), errors.Join(errs...)
}

// proc is one process of /proc.
type proc struct {
	ppid    int
	cmdline string // arguments joined by spaces
}

// processTable reads every process's parent and command line.
func processTable() (map[int]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid ...": the fields after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out[pid] = proc{ppid: ppid, cmdline: strings.ReplaceAll(string(cmd), "\x00", " ")}
	}
	return out, nil
}
