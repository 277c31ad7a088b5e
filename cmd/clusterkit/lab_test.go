package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterkit/clusterkit/kindlab"
)

// runLab runs `clusterkit lab ARGS` and returns its output and error.
func runLab(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"lab"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestLabListAndKubeconfig reads labs recorded under $HOME/.clusterkit/labs: kubeconfig prints
// the recorded path, list shows a lab whose processes are gone as broken, and asking for a lab
// that does not exist says how to find the labs. No lab is started.
func TestLabListAndKubeconfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := filepath.Join(home, ".clusterkit", "labs", "ci")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := kindlab.Lab{Name: "ci", Dir: dir, Server: "https://10.250.7.1:6443", Kubeconfig: filepath.Join(dir, "kubeconfig"),
		ControlPID: 0, Nodes: []kindlab.Node{{Name: "ci-node-1"}}}
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := runLab(t, "kubeconfig", "--name", "ci")
	if err != nil || strings.TrimSpace(out) != rec.Kubeconfig {
		t.Fatalf("lab kubeconfig = %q, %v; want %s", out, err, rec.Kubeconfig)
	}
	out, err = runLab(t, "list")
	if err != nil || !strings.Contains(out, "ci") || !strings.Contains(out, "Broken (delete it)") || !strings.Contains(out, rec.Server) {
		t.Fatalf("lab list = %q, %v; want the lab ci, its server, and Broken (its processes are gone)", out, err)
	}
	// A lab stopped by lab stop is listed as Stopped with the command that starts it.
	stopped := rec
	stopped.Stopped, stopped.NodeRuntime = true, kindlab.NodeContainers
	b, _ = json.Marshal(stopped)
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runLab(t, "list")
	if err != nil || !strings.Contains(out, "Stopped (clusterkit lab start --name ci starts it)") {
		t.Fatalf("lab list of a stopped lab = %q, %v; want Stopped and the start command", out, err)
	}
	_, err = runLab(t, "start", "--name", "nope")
	if err == nil || !strings.Contains(err.Error(), "clusterkit lab list") {
		t.Fatalf("lab start of a missing lab: %v; want an error naming `clusterkit lab list`", err)
	}
	out, err = runLab(t, "get", "nodes", "--name", "ci")
	if err != nil || out != "ci-node-1\n" {
		t.Fatalf("lab get nodes = %q, %v; want the node's name on its own line", out, err)
	}
	out, err = runLab(t, "get", "nodes", "--name", "ci", "-o", "wide")
	if err != nil || !strings.Contains(out, "ROLE") || !strings.Contains(out, "worker") || !strings.Contains(out, "stopped") {
		t.Fatalf("lab get nodes -o wide = %q, %v; want a table with the worker, its agent stopped", out, err)
	}
	if _, err = runLab(t, "get", "nodes", "--name", "ci", "-o", "json"); err == nil {
		t.Fatal("lab get nodes -o json: want an error naming the formats")
	}
	_, err = runLab(t, "kubeconfig", "--name", "nope")
	if err == nil || !strings.Contains(err.Error(), "clusterkit lab list") {
		t.Fatalf("lab kubeconfig of a missing lab: %v; want an error naming `clusterkit lab list`", err)
	}
	_, err = runLab(t, "delete", "--name", "nope")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("lab delete of a missing lab: %v; want not found", err)
	}
}

// TestLabDeleteAll: `lab delete --all` deletes every recorded lab (here one whose processes
// are gone) and removes failed creates' leftovers, and refuses --all with --name.
func TestLabDeleteAll(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	root := filepath.Join(home, ".clusterkit", "labs")
	out, err := runLab(t, "delete", "--all")
	if err != nil || !strings.Contains(out, "no labs") {
		t.Fatalf("lab delete --all with no labs = %q, %v; want it to say there are none", out, err)
	}
	broken := filepath.Join(root, "gone")
	if err := os.MkdirAll(filepath.Join(broken, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(kindlab.Lab{Name: "gone", Dir: broken, Nodes: []kindlab.Node{{Name: "gone-node-1"}}})
	if err := os.WriteFile(filepath.Join(broken, "lab.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	failed := filepath.Join(root, "failed")
	if err := os.MkdirAll(filepath.Join(failed, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := runLab(t, "delete", "--all", "--name", "gone"); err == nil || !strings.Contains(err.Error(), "without --name") {
		t.Fatalf("lab delete --all --name: %v; want it refused", err)
	}
	out, err = runLab(t, "delete", "--all")
	if err != nil {
		t.Fatalf("lab delete --all: %v\n%s", err, out)
	}
	for _, d := range []string{broken, failed} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there after delete --all (%v)\n%s", d, err, out)
		}
	}
	if !strings.Contains(out, "lab gone deleted") || !strings.Contains(out, "the logs of a failed create") {
		t.Errorf("lab delete --all said %q; want a line per lab and leftover", out)
	}
}

// TestLabCreateConfigErrors: a configuration file's mistakes and a --nodes that contradicts it
// are reported, naming the field, before anything is made.
func TestLabCreateConfigErrors(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	good := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(good, []byte("apiVersion: clusterkit.io/v1alpha1\nkind: Lab\nnodes:\n- count: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: clusterkit.io/v1alpha1\nkind: Lab\nnodes:\n- taints: [\"x:Sometimes\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", good, "--nodes", "3"}, "has 2 workers"},
		{[]string{"--config", bad}, "nodes[0].taints[0]"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "--config"},
	} {
		_, err := runLab(t, append([]string{"create"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lab create %v: %v; want an error holding %q", c.args, err, c.want)
		}
	}
}
