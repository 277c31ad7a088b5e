package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// The verdicts of a known-bad implementation in the kill matrix.
const (
	// verdictKilled: every spec that must reject it failed.
	verdictKilled = "KILLED"
	// verdictSurvived: at least one spec that must reject it did not fail.
	verdictSurvived = "SURVIVED"
	// verdictBroken: a spec that must still pass against it failed: the harness is broken,
	// so its failures prove nothing.
	verdictBroken = "BROKEN"
	// verdictNotRun: it cannot run on this machine (the reason says why).
	verdictNotRun = "NOT RUN"
)

// selftestFile is the kill matrix's file in --report DIR.
const selftestFile = "selftest.json"

// killRow is one known-bad implementation's line of the kill matrix.
type killRow struct {
	Component string   `json:"component"`
	Name      string   `json:"name"`
	MustFail  []string `json:"mustFail"`
	MustPass  []string `json:"mustPass,omitempty"`
	Verdict   string   `json:"verdict"`
	// Survivors are the MustFail specs that did not fail, with their outcome ("passed",
	// "skipped: …").
	Survivors []string `json:"survivors,omitempty"`
	// Broken are the MustPass specs that failed.
	Broken []string `json:"broken,omitempty"`
	// Reason is why the entry did not run.
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"-"`
	// Seconds is Duration in the JSON.
	Seconds float64 `json:"seconds"`
}

// killMatrix is the outcome of a selftest run.
type killMatrix struct {
	Rows []killRow `json:"rows"`
}

// counts returns how many rows were killed, how many ran and how many did not.
func (m killMatrix) counts() (killed, ran, notRun int) {
	for _, r := range m.Rows {
		switch r.Verdict {
		case verdictKilled:
			killed++
			ran++
		case verdictNotRun:
			notRun++
		default:
			ran++
		}
	}
	return killed, ran, notRun
}

// summary is the matrix's last line.
func (m killMatrix) summary() string {
	killed, ran, notRun := m.counts()
	s := fmt.Sprintf("%d of %d known-bad implementations rejected", killed, ran)
	if notRun > 0 {
		s += fmt.Sprintf(" (%d more not run here: see NOT RUN above)", notRun)
	}
	return s
}

// print writes the matrix: one row per known-bad, the specs that did not do their job under
// its row, then the summary line.
func (m killMatrix) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tKNOWN-BAD\tVERDICT\tTIME\tMUST BE REJECTED BY")
	for _, r := range m.Rows {
		d := "-"
		if r.Verdict != verdictNotRun {
			d = roundDuration(r.Duration).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Component, r.Name, r.Verdict, d, strings.Join(r.MustFail, ", "))
		for _, s := range r.Survivors {
			fmt.Fprintf(tw, "\t  did not fail: %s\t\t\t\n", s)
		}
		for _, s := range r.Broken {
			fmt.Fprintf(tw, "\t  must pass, failed: %s\t\t\t\n", s)
		}
		if r.Reason != "" {
			fmt.Fprintf(tw, "\t  not run: %s\t\t\t\n", r.Reason)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, m.summary())
	return err
}

// judge turns an entry's results into its row.
func judge(e knownbad.Entry, results conformance.Results, d time.Duration) killRow {
	r := killRow{Component: e.Component, Name: e.Name, MustFail: e.MustFail, MustPass: e.MustPass, Duration: d, Seconds: d.Seconds()}
	outcome := map[string]conformance.Result{}
	for _, res := range results {
		outcome[res.ID] = res
	}
	for _, id := range e.MustFail {
		res, ok := outcome[id]
		switch {
		case !ok:
			r.Survivors = append(r.Survivors, id+" (did not run)")
		case res.Outcome == conformance.Skipped:
			r.Survivors = append(r.Survivors, fmt.Sprintf("%s (skipped: %s)", id, firstLine(res.Message)))
		case res.Outcome != conformance.Failed:
			r.Survivors = append(r.Survivors, fmt.Sprintf("%s (%s)", id, res.Outcome))
		}
	}
	for _, id := range e.MustPass {
		if res, ok := outcome[id]; ok && res.Outcome == conformance.Failed {
			r.Broken = append(r.Broken, fmt.Sprintf("%s (%s)", id, firstLine(res.Message)))
		}
	}
	switch {
	case len(r.Broken) > 0:
		r.Verdict = verdictBroken
	case len(r.Survivors) > 0:
		r.Verdict = verdictSurvived
	default:
		r.Verdict = verdictKilled
	}
	return r
}

// selftestOptions are the flags of clusterkit conformance selftest.
type selftestOptions struct {
	components []string
	focus      string
	report     string
	verbose    bool
}

func newSelftestCommand() *cobra.Command {
	o := selftestOptions{}
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "Run the suite against every known-bad implementation and print the kill matrix",
		Long: `Prove the conformance suite can fail: run it against every known-bad
implementation and print the kill matrix.

A known-bad implementation is the reference implementation of a component with
one deliberate, plausible bug swapped in — a store whose Update ignores the
expected revision, a scheduler that ignores taints, a kubelet that never
restarts containers, a proxy that sends to not-ready endpoints. They live in
reference/knownbad; its Catalogue lists each one with the specs aimed at its
bug, which must all fail against it (and, for a few, specs that must still
pass, proving the harness itself works). The package's own tests run the
same list.

For each known-bad, only the specs that must reject it run, in this process,
one known-bad at a time. The matrix has a row per known-bad: its component,
its name, the verdict, the time it took and the specs that must reject it.
  KILLED    every one of those specs failed: the suite rejects the bug
  SURVIVED  at least one of them did not fail (listed under the row): the
            suite lets the bug through
  BROKEN    a spec that must still pass failed: the harness is broken
  NOT RUN   it cannot run on this machine (e.g. the proxy's need root)
The last line says how many were rejected; the command fails if any survived
or is broken. Progress goes to standard error, the matrix to standard output.
The whole catalogue takes many minutes (the scheduler's and the kubelet's take
the longest); see docs/testing.md for the figures.`,
		Example: `  # every known-bad implementation
  clusterkit conformance selftest

  # the known-bad stores only (the fastest), with the matrix as JSON
  clusterkit conformance selftest --components store --report selftest

  # the known-bads judged by the watch specs, or whose name says taints
  clusterkit conformance selftest --focus 'watch|taints'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSelftest(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.components, "components", knownbad.Components(), "components whose known-bad implementations to run: "+strings.Join(knownbad.Components(), ", "))
	f.StringVar(&o.focus, "focus", "", `run only the known-bads whose "component/name" or one of whose specs' IDs matches this regular expression`)
	f.StringVar(&o.report, "report", "", "write the kill matrix as JSON into this directory ("+selftestFile+")")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print every known-bad's spec results and the components' logs")
	return cmd
}

func runSelftest(cmd *cobra.Command, o selftestOptions) error {
	known := knownbad.Components()
	for _, c := range o.components {
		if !slices.Contains(known, c) {
			return fmt.Errorf("unknown component %q: choose from %s", c, strings.Join(known, ", "))
		}
	}
	var focus *regexp.Regexp
	if o.focus != "" {
		var err error
		if focus, err = regexp.Compile(o.focus); err != nil {
			return fmt.Errorf("--focus: %w", err)
		}
	}
	var selected []knownbad.Entry
	for _, e := range knownbad.Catalogue() {
		if slices.Contains(o.components, e.Component) && (focus == nil || matches(focus, e)) {
			selected = append(selected, e)
		}
	}
	if len(selected) == 0 {
		return fmt.Errorf("no known-bad implementation of %s matches --focus %q", strings.Join(o.components, ", "), o.focus)
	}
	if !o.verbose {
		// As clusterkit conformance: the in-process components' libraries log through klog.
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	m := runMatrix(ctx, cmd.ErrOrStderr(), selected, o.verbose)
	if err := m.print(cmd.OutOrStdout()); err != nil {
		return err
	}
	if o.report != "" {
		if err := writeMatrix(o.report, m); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Kill matrix: %s\n", filepath.Join(o.report, selftestFile))
	}
	killed, ran, _ := m.counts()
	if killed < ran {
		return fmt.Errorf("selftest: %d of %d known-bad implementations were not rejected (SURVIVED or BROKEN above)", ran-killed, ran)
	}
	return nil
}

// matches says whether the focus selects the entry by its component/name or a spec ID.
func matches(focus *regexp.Regexp, e knownbad.Entry) bool {
	if focus.MatchString(e.Component + "/" + e.Name) {
		return true
	}
	return slices.ContainsFunc(e.Specs(), focus.MatchString)
}

// runMatrix runs each entry's specs in turn, a progress line for each on progress.
func runMatrix(ctx context.Context, progress io.Writer, entries []knownbad.Entry, verbose bool) killMatrix {
	env := &knownbad.Env{}
	defer env.Close()
	var m killMatrix
	start := time.Now()
	for i, e := range entries {
		fmt.Fprintf(progress, "[%d/%d] %s: %s (%s) …\n", i+1, len(entries), e.Component, e.Name, strings.Join(e.MustFail, ", "))
		if e.Unavailable != nil {
			if why := e.Unavailable(); why != "" {
				m.Rows = append(m.Rows, killRow{Component: e.Component, Name: e.Name, MustFail: e.MustFail, MustPass: e.MustPass, Verdict: verdictNotRun, Reason: why})
				fmt.Fprintf(progress, "[%d/%d]   NOT RUN: %s\n", i+1, len(entries), why)
				continue
			}
		}
		t0 := time.Now()
		results := e.Check(ctx, env, e.Specs()...)
		row := judge(e, results, time.Since(t0))
		m.Rows = append(m.Rows, row)
		fmt.Fprintf(progress, "[%d/%d]   %s in %s\n", i+1, len(entries), row.Verdict, roundDuration(row.Duration))
		if verbose || row.Verdict != verdictKilled {
			fmt.Fprint(progress, indent(results.String(), "        "))
		}
	}
	fmt.Fprintf(progress, "%d known-bad implementations in %s\n", len(entries), time.Since(start).Round(time.Second))
	return m
}

// roundDuration keeps a duration readable: milliseconds under a second, tenths above.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

// writeMatrix writes the matrix as JSON into dir.
func writeMatrix(dir string, m killMatrix) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("the kill matrix: %w", err)
	}
	killed, ran, notRun := m.counts()
	doc := struct {
		Kind    string `json:"kind"`
		Killed  int    `json:"killed"`
		Ran     int    `json:"ran"`
		NotRun  int    `json:"notRun"`
		Summary string `json:"summary"`
		killMatrix
	}{"clusterkit.io/selftest-kill-matrix/v1", killed, ran, notRun, m.summary(), m}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("the kill matrix: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, selftestFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("the kill matrix: %w", err)
	}
	return nil
}
