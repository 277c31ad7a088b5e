package kindlab

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestKillShimsKillsTheLabsShimsAndTheirChildren: a "shim" of this lab's containerd and its
// child go; a shim of another directory stays.
func TestKillShimsKillsTheLabsShimsAndTheirChildren(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	start := func(address string) *exec.Cmd {
		// sh's arguments put the shim's name and address in its command line; its sleep is the
		// "container" it started.
		cmd := exec.Command("sh", "-c", "sleep 60 & wait", "containerd-shim-runc-v2", "-address", address)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd
	}
	mine := start(filepath.Join(dir, "data", "node-1", "containerd", "containerd.sock"))
	theirs := start(filepath.Join(other, "containerd.sock"))
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); {
		procs, err := processTable()
		if err != nil {
			t.Fatal(err)
		}
		for pid, p := range procs {
			if p.ppid == mine.Process.Pid {
				child = pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("the shim's child did not start")
	}
	n, err := killShims(dir)
	if err != nil || n != 1 {
		t.Fatalf("killShims = %d, %v; want 1 shim", n, err)
	}
	_ = mine.Wait()
	for deadline := time.Now().Add(5 * time.Second); alive(child); {
		if time.Now().After(deadline) {
			t.Fatalf("the shim's child %d is still running", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !alive(theirs.Process.Pid) {
		t.Fatal("the shim of another directory was killed")
	}
}
