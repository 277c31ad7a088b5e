package main

import (
	"syscall"
	"testing"
)

// TestRaiseOpenFileLimit: the limit in force afterwards is the one reported, and never lower
// than before.
func TestRaiseOpenFileLimit(t *testing.T) {
	var before syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before); err != nil {
		t.Fatal(err)
	}
	got, err := raiseOpenFileLimit()
	if err != nil {
		t.Logf("not raised fully: %v", err)
	}
	var after syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after); err != nil {
		t.Fatal(err)
	}
	if after.Cur != got || after.Cur < before.Cur {
		t.Fatalf("limit before %d, reported %d, after %d", before.Cur, got, after.Cur)
	}
}
