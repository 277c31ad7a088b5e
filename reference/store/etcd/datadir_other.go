//go:build !unix

package etcdstore

// checkDataDirFree is a no-op where file locks are not checked: etcd then
// waits for the lock of a data directory that is in use.
func checkDataDirFree(string) error { return nil }
