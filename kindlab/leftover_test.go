package kindlab

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
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

// TestRetainKeepsAFailedCreate: with Retain, what a failed creation made stays (its record and
// its bridge) and Delete removes it; without, the bridge goes and only the logs stay.
func TestRetainKeepsAFailedCreate(t *testing.T) {
	if why := Unavailable(); why != "" {
		fmt.Printf("skipping TestRetainKeepsAFailedCreate: %s\n", why)
		t.Skip(why)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lab")
	// A binary that does not exist: the creation fails after it has claimed its bridge.
	_, err := Create(ctx, Config{Name: "ckretain", Nodes: 1, Dir: dir, Binary: "/nonexistent/clusterkit", Retain: true})
	if err == nil {
		t.Fatal("creating a lab from a missing binary succeeded")
	}
	lab, err := Load(dir)
	if err != nil {
		t.Fatalf("the retained lab's record: %v", err)
	}
	if _, err := net.InterfaceByName(lab.Bridge); err != nil {
		t.Errorf("bridge %s of the retained lab is gone: %v", lab.Bridge, err)
	}
	if err := lab.Delete(ctx, io.Discard); err != nil {
		t.Fatalf("deleting the retained lab: %v", err)
	}
	if _, err := net.InterfaceByName(lab.Bridge); err == nil {
		t.Errorf("bridge %s left after Delete", lab.Bridge)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left after Delete (%v)", dir, err)
	}

	dir = filepath.Join(t.TempDir(), "lab")
	var said []string
	_, err = Create(ctx, Config{Name: "ckretain", Nodes: 1, Dir: dir, Binary: "/nonexistent/clusterkit",
		Progress: func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) }})
	if err == nil {
		t.Fatal("creating a lab from a missing binary succeeded")
	}
	if !IsLeftover(dir) {
		t.Errorf("a failed create without Retain left %s as more than its logs", dir)
	}
	if all := strings.Join(said, "\n"); !strings.Contains(all, "removing what was made") || strings.Contains(all, "--retain") {
		t.Errorf("a failed create without Retain said:\n%s\nwant it to say it removes what it made", all)
	}
	if err := RemoveLeftover(dir); err != nil {
		t.Fatal(err)
	}
}
