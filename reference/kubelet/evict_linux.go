package kubelet

import (
	"io/fs"
	"syscall"
)

// allocated is the bytes of the blocks a file takes on disk.
func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return 0
}
