package kindlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// stop sends SIGTERM to pid, waits up to grace for it to exit, then SIGKILLs it.
func stop(ctx context.Context, pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("signalling pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for alive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("pid %d did not stop within %s after SIGTERM; killed it", pid, grace)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}
