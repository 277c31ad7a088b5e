package upstream

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	ginkgotypes "github.com/onsi/ginkgo/v2/types"
)

// AreaCount is one row of the per-area table.
type AreaCount struct {
	Area                              string
	Selected, Passed, Failed, Skipped int
}

// Table counts the results per area, in the order areas were given (areas
// outside them after, by name), with a total row last.
func (r *Result) Table(areas []Area) []AreaCount {
	rows := map[string]*AreaCount{}
	var order []string
	for _, a := range areas {
		rows[a.Name] = &AreaCount{Area: a.Name}
		order = append(order, a.Name)
	}
	var extra []string
	for _, s := range r.Specs {
		row, ok := rows[s.Area]
		if !ok {
			row = &AreaCount{Area: s.Area}
			rows[s.Area] = row
			extra = append(extra, s.Area)
		}
		row.Selected++
		switch {
		case s.Passed():
			row.Passed++
		case s.Failed():
			row.Failed++
		default:
			row.Skipped++
		}
	}
	sort.Strings(extra)
	total := AreaCount{Area: "total"}
	var out []AreaCount
	for _, n := range append(order, extra...) {
		row := *rows[n]
		if row.Selected == 0 && len(areas) > 0 && !contains(order, n) {
			continue
		}
		total.Selected += row.Selected
		total.Passed += row.Passed
		total.Failed += row.Failed
		total.Skipped += row.Skipped
		out = append(out, row)
	}
	return append(out, total)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// WriteTable prints the table as aligned text.
func WriteTable(w io.Writer, rows []AreaCount) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "area\tselected\tpassed\tfailed\tskipped\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", r.Area, r.Selected, r.Passed, r.Failed, r.Skipped)
	}
	_ = tw.Flush()
}

// WriteMarkdownTable prints the table as a Markdown table.
func WriteMarkdownTable(w io.Writer, rows []AreaCount) {
	fmt.Fprintln(w, "| area | selected | passed | failed | skipped |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, r := range rows {
		name := r.Area
		if name == "total" {
			name = "**total**"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d |\n", name, r.Selected, r.Passed, r.Failed, r.Skipped)
	}
}

// Cause is a group of failed specs with the same cause.
type Cause struct {
	// Cause names what went wrong, as a normalised first line of the
	// failure message or a recognised cause ("resource not served: …").
	Cause string
	Specs []SpecResult
}

// Causes groups the failures by cause, most frequent first.
func (r *Result) Causes() []Cause {
	groups := map[string][]SpecResult{}
	for _, s := range r.Specs {
		if s.Failed() {
			c := classify(s)
			groups[c] = append(groups[c], s)
		}
	}
	out := make([]Cause, 0, len(groups))
	for c, specs := range groups {
		out = append(out, Cause{Cause: c, Specs: specs})
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Specs) != len(out[j].Specs) {
			return len(out[i].Specs) > len(out[j].Specs)
		}
		return out[i].Cause < out[j].Cause
	})
	return out
}

var (
	notFoundRE  = regexp.MustCompile(`the server could not find the requested resource(?: \((get|list|watch|post|create|put|update|patch|delete|deletecollection) ([a-z0-9.-]+)(?:\.([a-z0-9.-]+))?\))?`)
	noKindRE    = regexp.MustCompile(`no matches for kind "([A-Za-z]+)" in (?:version|group) "([^"]+)"`)
	dnsRE       = regexp.MustCompile(`(?i)(no such host|server misbehaving|i/o timeout.*:53|nslookup|dig .*(timed out|failed)|DNS)`)
	quotedRE    = regexp.MustCompile(`"[^"]*"`)
	numberRE    = regexp.MustCompile(`\b[0-9][0-9.:a-z]*\b`)
	generatedRE = regexp.MustCompile(`\b[a-z0-9]+(-[a-z0-9]+)*-[a-z0-9]{5}\b`)
	spaceRE     = regexp.MustCompile(`\s+`)
)

// classify names the cause of a failure.
func classify(s SpecResult) string {
	msg := s.Message
	switch {
	case s.State == "not run":
		return "e2e.test exited without reporting the spec (crash or timeout of its process)"
	case strings.HasPrefix(msg, SetupFailed):
		return SetupFailed + normalise(strings.TrimPrefix(msg, SetupFailed))
	case strings.HasPrefix(msg, "panic: "):
		return "e2e.test panicked: " + normalise(firstLine(strings.TrimPrefix(msg, "panic: ")))
	}
	if m := notFoundRE.FindStringSubmatch(msg); m != nil {
		if m[2] != "" {
			res := m[2]
			if m[3] != "" {
				res += "." + m[3]
			}
			return "resource not served (404): " + res
		}
		// No resource in the message: what the spec was doing names it.
		if i := strings.Index(firstLine(msg), "the server could not find"); i > 0 {
			return "resource not served (404): " + strings.TrimRight(normalise(firstLine(msg)[:i]), ": ")
		}
		return "resource not served (404)"
	}
	if m := noKindRE.FindStringSubmatch(msg); m != nil {
		return "kind not served: " + m[1] + " in " + m[2]
	}
	if dnsRE.MatchString(msg) {
		return "cluster DNS: a name did not resolve"
	}
	if s.State == "timedout" {
		return "spec timed out: " + normalise(firstLine(msg))
	}
	return normalise(firstLine(msg))
}

// firstLine returns the first line that says something: Gomega's
// "Expected" and "Timed out after 30s." are joined with what follows them.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l == "" || l == "{" || l == "<" {
			continue
		}
		parts = append(parts, l)
		if joined := strings.Join(parts, " "); len(parts) == 3 || len(joined) >= 40 && !strings.HasPrefix(l, "Expected") && !strings.HasPrefix(l, "Timed out") {
			return joined
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	return s
}

// normalise strips what differs between specs with the same cause: names,
// quoted values, numbers and durations.
func normalise(s string) string {
	s = quotedRE.ReplaceAllString(s, `"…"`)
	s = generatedRE.ReplaceAllString(s, "NAME")
	s = numberRE.ReplaceAllString(s, "N")
	s = spaceRE.ReplaceAllString(s, " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	if s == "" {
		return "failed without a message"
	}
	return s
}

// WriteCauses prints the failures grouped by cause, with up to perCause
// spec names each (0: all).
func WriteCauses(w io.Writer, causes []Cause, perCause int) {
	for _, c := range causes {
		fmt.Fprintf(w, "%3d  %s\n", len(c.Specs), c.Cause)
		for i, s := range c.Specs {
			if perCause > 0 && i == perCause {
				fmt.Fprintf(w, "       … and %d more\n", len(c.Specs)-perCause)
				break
			}
			fmt.Fprintf(w, "       - %s\n", s.Text)
		}
	}
}

// mergeReports makes one Ginkgo report of every shard's, with the specs
// that were never reported added as failures, for the JUnit file.
func mergeReports(reports []ginkgotypes.Report, res *Result) ginkgotypes.Report {
	merged := ginkgotypes.Report{SuiteDescription: "Kubernetes e2e suite (clusterkit conformance upstream)", SuiteSucceeded: true}
	if len(reports) > 0 {
		merged.SuitePath = reports[0].SuitePath
		merged.SuiteConfig = reports[0].SuiteConfig
		merged.StartTime = reports[0].StartTime
	}
	for _, s := range res.Specs {
		if s.report != nil {
			merged.SpecReports = append(merged.SpecReports, *s.report)
			if s.Failed() {
				merged.SuiteSucceeded = false
			}
			continue
		}
		merged.SuiteSucceeded = false
		merged.SpecReports = append(merged.SpecReports, ginkgotypes.SpecReport{
			LeafNodeType: ginkgotypes.NodeTypeIt, LeafNodeText: s.Text, State: ginkgotypes.SpecStateFailed,
			Failure: ginkgotypes.Failure{Message: s.Message},
		})
	}
	merged.EndTime = merged.StartTime.Add(res.Elapsed)
	merged.RunTime = res.Elapsed
	return merged
}

// writeResults writes the merged JUnit file, the concatenated e2e.log,
// summary.txt and results.json into dir.
func writeResults(dir string, res *Result, logs []string) error {
	if err := reporters.GenerateJUnitReportWithConfig(res.suite, filepath.Join(dir, "junit_01.xml"),
		reporters.JunitReportConfig{OmitTimelinesForSpecState: ginkgotypes.SpecStatePassed | ginkgotypes.SpecStateSkipped, OmitLeafNodeType: true}); err != nil {
		return fmt.Errorf("writing the JUnit report: %w", err)
	}
	sort.Strings(logs)
	out, err := os.Create(filepath.Join(dir, "e2e.log"))
	if err != nil {
		return err
	}
	for _, l := range logs {
		fmt.Fprintf(out, "\n===== %s =====\n", strings.TrimPrefix(l, dir+string(filepath.Separator)))
		if f, err := os.Open(l); err == nil {
			_, _ = io.Copy(out, f)
			_ = f.Close()
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	js, err := json.MarshalIndent(struct {
		Elapsed string       `json:"elapsed"`
		Specs   []SpecResult `json:"specs"`
	}{res.Elapsed.Round(time.Second).String(), res.Specs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), js, 0o644)
}

// WriteSummary writes the table and the causes (the summary.txt of a run).
func WriteSummary(w io.Writer, res *Result, areas []Area) {
	WriteTable(w, res.Table(areas))
	causes := res.Causes()
	if len(causes) > 0 {
		fmt.Fprintf(w, "\nfailures by cause:\n")
		WriteCauses(w, causes, 0)
	}
}
