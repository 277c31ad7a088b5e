package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// logTime is the time format of e2e.log's lines (UTC, like the rest of the report).
const logTime = "2006-01-02T15:04:05.000Z"

// WriteLog writes the e2e.log-style plain log: a header, one line a spec (its start, outcome,
// duration, behaviour ID and sentence, the implementation), the failure message and location
// under a failure, the reason under a skip, and a summary in the words of Ginkgo's ("Ran N of
// M Specs in S seconds", "SUCCESS!"/"FAIL!" with the counts).
func (r Results) WriteLog(w io.Writer) error {
	b := bufio.NewWriter(w)
	version := r.Run.Version
	if r.Run.GitCommit != "" {
		version += " (" + r.Run.GitCommit + ")"
	}
	fmt.Fprintf(b, "%s clusterkit %s: %s\n", r.Run.Start.UTC().Format(logTime), version, r.Run.Suite)
	fmt.Fprintf(b, "%s target: %s\n", r.Run.Start.UTC().Format(logTime), r.Run.Target)
	if len(r.Run.Components) > 0 {
		fmt.Fprintf(b, "%s components: %s\n", r.Run.Start.UTC().Format(logTime), strings.Join(r.Run.Components, ", "))
	}
	for _, s := range r.Specs {
		fmt.Fprintf(b, "%s %-7s [%s] %s  %s  (%s)\n", s.Start.UTC().Format(logTime), strings.ToUpper(string(s.Outcome)),
			s.Duration().Round(time.Millisecond), s.Title(), s.Implementation, s.Component)
		switch s.Outcome {
		case Failed:
			writeIndented(b, s.Failure)
			if s.FailureLocation != "" {
				fmt.Fprintf(b, "    at %s\n", s.FailureLocation)
			}
		case Skipped:
			if s.SkipReason != "" {
				writeIndented(b, "skipped: "+s.SkipReason)
			}
		}
	}
	c := r.Run.Counts
	fmt.Fprintf(b, "%s the run ended\n\nRan %d of %d Specs in %.3f seconds (%d skipped, %d not selected)\n", r.Run.End.UTC().Format(logTime), c.Ran, c.Total, r.Run.DurationSeconds, c.Skipped, c.NotRun)
	verdict := "SUCCESS!"
	if !r.Run.Succeeded || c.Failed > 0 {
		verdict = "FAIL!"
	}
	fmt.Fprintf(b, "%s -- %d Passed | %d Failed | %d Skipped | %d Not run\n", verdict, c.Passed, c.Failed, c.Skipped, c.NotRun)
	for _, s := range r.Specs {
		if s.Outcome == Failed {
			fmt.Fprintf(b, "  [FAIL] %s  %s\n", s.Title(), s.Implementation)
		}
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("writing e2e.log: %w", err)
	}
	return nil
}

func writeIndented(w io.Writer, msg string) {
	for _, line := range strings.Split(strings.TrimSpace(msg), "\n") {
		fmt.Fprintf(w, "    %s\n", line)
	}
}
