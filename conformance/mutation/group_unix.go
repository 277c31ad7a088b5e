//go:build unix

package mutation

import (
	"os/exec"
	"syscall"
	"time"
)

// killGroup makes the go command the leader of its own process group and,
// on cancellation, kills the whole group: the test binaries it started too.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
}
