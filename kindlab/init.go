package kindlab

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// RunInit is the first process of a node container (PID 1 of its PID namespace): it starts
// args as its one child, passes SIGTERM and SIGINT on to it, reaps every process orphaned
// inside the container (containerd's shims and what they leave), and returns the child's
// exit code once it exits — after which the kernel ends whatever else still runs in the
// container. The node agent itself cannot reap: os/exec waits for its own children only.
func RunInit(args []string) int {
	if len(args) == 0 {
		return 2
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("node init: " + err.Error() + "\n")
		return 1
	}
	child := cmd.Process.Pid
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			_ = cmd.Process.Signal(sig)
			continue
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			if pid == child {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 0
}
