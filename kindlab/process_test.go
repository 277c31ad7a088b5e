package kindlab

import (
	"context"
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

// A PID the lab recorded is signalled only while it is one of the lab's processes: a process
// that does not name the lab's directory (the PID given to another program since) is left
// alone; one that does is stopped.
func TestStopOwnedSignalsOnlyTheLabsProcesses(t *testing.T) {
	l := &Lab{Dir: t.TempDir()}
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command("sh", args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd
	}
	other := start("-c", "sleep 30", l.Dir+"-other/x") // a sibling directory's, not the lab's
	mine := start("-c", "sleep 30", l.Dir+"/bin/clusterkit")
	time.Sleep(100 * time.Millisecond)
	if l.owns(other.Process.Pid) {
		t.Fatalf("owns(%d) for a process naming %s-other", other.Process.Pid, l.Dir)
	}
	if err := l.stopOwned(context.Background(), other.Process.Pid, time.Second); err != nil {
		t.Fatal(err)
	}
	if !alive(other.Process.Pid) {
		t.Fatal("stopOwned ended a process that is not the lab's")
	}
	if !l.owns(mine.Process.Pid) {
		t.Fatalf("owns(%d) false for a process naming a file in the lab's directory", mine.Process.Pid)
	}
	if err := l.stopOwned(context.Background(), mine.Process.Pid, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if l.owns(mine.Process.Pid) {
		t.Fatal("the lab's process still runs after stopOwned")
	}
}
