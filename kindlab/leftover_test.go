package kindlab

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLeftoverOfAFailedCreateIsRemovedAndNothingElse(t *testing.T) {
	root := t.TempDir()
	failed := filepath.Join(root, "failed")
	if err := os.MkdirAll(filepath.Join(failed, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "other")
	if err := os.MkdirAll(filepath.Join(other, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Leftovers(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != failed {
		t.Fatalf("leftovers: %v, want only %s", got, failed)
	}
	if err := RemoveLeftover(other); err == nil {
		t.Error("a directory holding more than a lab's entries must not be removed")
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("the other directory is gone: %v", err)
	}
	if err := RemoveLeftover(failed); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Errorf("the failed create's directory is still there: %v", err)
	}
	if IsLeftover(root + "/missing") {
		t.Error("a missing directory is no leftover")
	}
}

func TestDeleteCommandNamesTheDirectoryWhenNotTheDefault(t *testing.T) {
	if got := DeleteCommand("ci", filepath.Join(Root(), "ci")); got != "clusterkit lab delete --name ci" {
		t.Errorf("default directory: %q", got)
	}
	if got := DeleteCommand("ci", "/tmp/labs/ci"); got != "clusterkit lab delete --dir /tmp/labs/ci" {
		t.Errorf("--dir: %q", got)
	}
}
