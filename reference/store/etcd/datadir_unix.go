//go:build unix

package etcdstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// checkDataDirFree fails when another process (or another server in this
// process) has etcd's database in dir open. etcd itself would block forever
// waiting for the database's file lock, so the check turns that wait into an
// error that says what to do.
func checkDataDirFree(dir string) error {
	db := filepath.Join(dir, "member", "snap", "db")
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded etcd: cannot open %q: %w — check the permissions of the data directory", db, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("etcd data directory %q is in use by another etcd (a running clusterkit or etcd process): stop it, "+
				"or point at it with --etcd-endpoints instead of opening its data directory", dir)
		}
		return fmt.Errorf("embedded etcd: cannot lock %q: %w", db, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
