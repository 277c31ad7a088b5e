package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestKillMatrixPrint: a row per known-bad with its verdict, time and specs, what did not
// do its job under its row, and the summary line counting only the rows that ran.
func TestKillMatrixPrint(t *testing.T) {
	bad := knownbad.Entry{Component: "scheduler", Name: "ignores taints", MustFail: []string{"scheduler.taints.tolerations", "scheduler.taints.control-plane"}}
	harnessy := knownbad.Entry{Component: "api", Name: "quota ignoring hard", MustFail: []string{"api.resourcequota.exceeded"}, MustPass: []string{"api.resourcequota.status-used"}}
	m := killMatrix{Rows: []killRow{
		judge(knownbad.Entry{Component: "store", Name: "watch drops events", MustFail: []string{"store.watch.order"}},
			conformance.Results{{Behavior: conformance.Behavior{ID: "store.watch.order"}, Outcome: conformance.Failed, Message: "missed event"}}, 1500*time.Millisecond),
		judge(bad, conformance.Results{
			{Behavior: conformance.Behavior{ID: "scheduler.taints.tolerations"}, Outcome: conformance.Failed},
			{Behavior: conformance.Behavior{ID: "scheduler.taints.control-plane"}, Outcome: conformance.Passed},
		}, 20*time.Second),
		judge(harnessy, conformance.Results{
			{Behavior: conformance.Behavior{ID: "api.resourcequota.exceeded"}, Outcome: conformance.Failed},
			{Behavior: conformance.Behavior{ID: "api.resourcequota.status-used"}, Outcome: conformance.Failed, Message: "no status\nmore"},
		}, 42*time.Millisecond),
		{Component: "proxy", Name: "no hairpin masquerade", MustFail: []string{"proxy.clusterip.hairpin"}, Verdict: verdictNotRun, Reason: "needs root"},
	}}
	var b bytes.Buffer
	if err := m.print(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []struct {
		line   int
		fields []string
	}{
		{0, []string{"COMPONENT", "KNOWN-BAD", "VERDICT", "TIME", "MUST BE REJECTED BY"}},
		{1, []string{"store", "watch drops events", "KILLED", "1.5s", "store.watch.order"}},
		{2, []string{"scheduler", "ignores taints", "SURVIVED", "20s", "scheduler.taints.tolerations, scheduler.taints.control-plane"}},
		{3, []string{"did not fail: scheduler.taints.control-plane (passed)"}},
		{4, []string{"api", "quota ignoring hard", "BROKEN", "42ms", "api.resourcequota.exceeded"}},
		{5, []string{"must pass, failed: api.resourcequota.status-used (no status …)"}},
		{6, []string{"proxy", "no hairpin masquerade", "NOT RUN", "-", "proxy.clusterip.hairpin"}},
		{7, []string{"not run: needs root"}},
		{8, []string{"1 of 3 known-bad implementations rejected (1 more not run here: see NOT RUN above)"}},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for _, w := range want {
		for _, f := range w.fields {
			if !strings.Contains(lines[w.line], f) {
				t.Errorf("line %d %q lacks %q", w.line, lines[w.line], f)
			}
		}
	}
	// The columns line up: every verdict starts where the header's does.
	col := strings.Index(lines[0], "VERDICT")
	for _, i := range []int{1, 2, 4, 6} {
		if v := lines[i][col:]; !strings.HasPrefix(v, "KILLED") && !strings.HasPrefix(v, "SURVIVED") && !strings.HasPrefix(v, "BROKEN") && !strings.HasPrefix(v, "NOT RUN") {
			t.Errorf("line %d: the verdict column does not line up: %q", i, lines[i])
		}
	}
	if killed, ran, notRun := m.counts(); killed != 1 || ran != 3 || notRun != 1 {
		t.Errorf("counts = %d, %d, %d; want 1, 3, 1", killed, ran, notRun)
	}
}

// TestSelftestStore runs the known-bad stores (the fastest component) through the command:
// every one is KILLED, the summary says so, the progress names each, and --report writes
// the matrix as JSON.
func TestSelftestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rep")
	cmd := newConformanceCommand()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"selftest", "--components", "store", "--report", dir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("conformance selftest: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	var stores []knownbad.Entry
	for _, e := range knownbad.Catalogue() {
		if e.Component == "store" {
			stores = append(stores, e)
		}
	}
	out := stdout.String()
	for _, e := range stores {
		if !strings.Contains(out, e.Name) || !strings.Contains(stderr.String(), e.Name) {
			t.Errorf("the matrix or the progress lacks %q", e.Name)
		}
	}
	if n := strings.Count(out, "KILLED"); n != len(stores) {
		t.Errorf("%d rows KILLED, want %d:\n%s", n, len(stores), out)
	}
	if want := "4 of 4 known-bad implementations rejected"; len(stores) == 4 && !strings.Contains(out, want) {
		t.Errorf("no %q in:\n%s", want, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, selftestFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Killed, Ran int
		Rows        []killRow
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Killed != len(stores) || doc.Ran != len(stores) || len(doc.Rows) != len(stores) || doc.Rows[0].Verdict != verdictKilled || doc.Rows[0].Seconds <= 0 {
		t.Errorf("%s: %s", selftestFile, b)
	}
}

// TestSelftestFocusMatchesNothing: a focus that selects no known-bad is an error, not an
// empty success.
func TestSelftestFocusMatchesNothing(t *testing.T) {
	cmd := newConformanceCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"selftest", "--components", "store", "--focus", "no-such-known-bad"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "matches --focus") {
		t.Fatalf("err = %v, want one about --focus", err)
	}
}
