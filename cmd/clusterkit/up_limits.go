package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// openFileLimit is what `up` asks for: the limit systemd units of containerd and the kubelet
// set (LimitNOFILE=1048576), bounded by the kernel's fs.nr_open.
const openFileLimit = 1 << 20

// raiseOpenFileLimit lifts this process's open-file limit towards openFileLimit. One process
// runs every node here, and each simulated pod holds a socket that claims its IP, each watch
// and kubelet connection a few more: `up --nodes 100` with 10,000 pods needs more than the
// 20,000 a shell often allows. Raising the hard limit needs CAP_SYS_RESOURCE; without
// it the soft limit goes up to the hard one. It returns the limit in force and, when that is
// below what was asked for, why.
func raiseOpenFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	want := uint64(openFileLimit)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n < want {
			want = n
		}
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	next := syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err == nil {
		return want, nil
	}
	// Not privileged: as far as the hard limit.
	next = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		return lim.Cur, fmt.Errorf("raising the open-file limit from %d: %w", lim.Cur, err)
	}
	return lim.Max, fmt.Errorf("the open-file limit stays at %d (raising the hard limit needs CAP_SYS_RESOURCE; `ulimit -Hn` tells it): many nodes and pods in one process may run out of files", lim.Max)
}
