package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterkit/clusterkit/conformance/report"
)

// TestConformanceReport runs one scheduler spec with --report: the directory holds the four
// report files, results.json lists that spec as passed and counts the others as not
// selected, and no JUnit file lands in the working directory. (Ginkgo runs once a process:
// this is the package's only test that runs the suite.)
func TestConformanceReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rep")
	t.Chdir(t.TempDir())
	cmd := newConformanceCommand()
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)
	cmd.SetOut(&stderr)
	cmd.SetArgs([]string{"--components", "scheduler", "--focus", `scheduler\.events\.scheduled\b`, "--report", dir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("conformance --report: %v\n%s", err, stderr.String())
	}
	for _, f := range []string{report.JUnitFile, report.LogFile, report.JSONFile, report.HTMLFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Specs) != 1 || r.Specs[0].ID != "scheduler.events.scheduled" || r.Specs[0].Outcome != report.Passed ||
		r.Specs[0].Source == "" || r.Run.Counts.NotRun == 0 || r.Run.Target != "the in-process reference implementations" || r.Run.Version == "" {
		t.Errorf("results.json: %+v", r)
	}
	if _, err := os.Stat("clusterkit-junit.xml"); err == nil {
		t.Errorf("with --report and no --junit-report, clusterkit-junit.xml was written too")
	}
	if !strings.Contains(stderr.String(), "Report: "+dir) {
		t.Errorf("the output does not name the report directory:\n%s", stderr.String())
	}
}
