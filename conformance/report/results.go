package report

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	ginkgotypes "github.com/onsi/ginkgo/v2/types"

	"github.com/clusterkit/clusterkit/conformance"
)

// Schema names the format of results.json; it changes only when a field changes meaning or
// goes away (new fields may be added).
const Schema = "clusterkit.io/conformance-results/v1"

// Outcome is how a spec ended: passed, failed or skipped.
type Outcome string

// The outcomes of a spec in the report. Failed covers every Ginkgo failure state (failed,
// panicked, timed out, interrupted, aborted).
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped"
)

// Outcomes lists the outcomes in the order reports show them.
var Outcomes = [...]Outcome{Failed, Skipped, Passed}

// Results is the content of results.json.
type Results struct {
	// Schema is always the constant Schema.
	Schema string `json:"schema"`
	Run    Run    `json:"run"`
	// Specs are the specs the run selected, in the order they ran.
	Specs []Spec `json:"specs"`
}

// Run is the metadata of a run.
type Run struct {
	// Suite is the suite's description ("clusterkit conformance").
	Suite string `json:"suite"`
	// Version and GitCommit are clusterkit's (package version).
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit,omitempty"`
	// Target is what the specs ran against, in words.
	Target string `json:"target"`
	// Components are the components whose specs were asked for.
	Components []string  `json:"components,omitempty"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	// DurationSeconds is End - Start.
	DurationSeconds float64 `json:"durationSeconds"`
	// Succeeded is Ginkgo's verdict on the whole suite.
	Succeeded bool   `json:"succeeded"`
	Counts    Counts `json:"counts"`
}

// Counts are the numbers of specs by outcome.
type Counts struct {
	// Total is the number of specs in the suite: Ran + Skipped + NotRun.
	Total int `json:"total"`
	// Ran is the number of specs that ran to an outcome, as in Ginkgo's "Ran N of M Specs":
	// Passed + Failed.
	Ran    int `json:"ran"`
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	// Skipped are the selected specs that skipped themselves, each with its reason (a
	// capability the implementation lacks, a target that cannot support it).
	Skipped int `json:"skipped"`
	// NotRun are the specs the run did not select (--focus, --skip, --label-filter) or
	// never reached (an interrupted run); they are not listed in Specs.
	NotRun int `json:"notRun"`
}

// Listed is the number of specs a report lists: Passed + Failed + Skipped.
func (c Counts) Listed() int { return c.Passed + c.Failed + c.Skipped }

// Spec is one spec run.
type Spec struct {
	// Component is the component label: store, api, auth, scheduler, controllers, kubelet, proxy.
	Component string `json:"component"`
	// ID is the behaviour ID ("store.watch.resume-after-revision").
	ID string `json:"id"`
	// Must is the behaviour's MUST sentence.
	Must string `json:"must"`
	// Source is where the behaviour is documented.
	Source string `json:"source,omitempty"`
	// Implementation is the implementation the spec ran against (the Ginkgo container's text,
	// "[store] memory store"): a behaviour runs once per implementation.
	Implementation string   `json:"implementation,omitempty"`
	Labels         []string `json:"labels,omitempty"`
	Outcome        Outcome  `json:"outcome"`
	// State is Ginkgo's own state ("passed", "timedout", "panicked", …).
	State string `json:"state"`
	// SkipReason is why a skipped spec was skipped.
	SkipReason string `json:"skipReason,omitempty"`
	// Failure is the failure message of a failed spec, FailureLocation its file:line.
	Failure         string    `json:"failure,omitempty"`
	FailureLocation string    `json:"failureLocation,omitempty"`
	Start           time.Time `json:"start"`
	DurationSeconds float64   `json:"durationSeconds"`
}

// Title is the spec's title, "[ID] MUST sentence".
func (s Spec) Title() string { return "[" + s.ID + "] " + s.Must }

// Duration is DurationSeconds as a time.Duration.
func (s Spec) Duration() time.Duration {
	return time.Duration(s.DurationSeconds * float64(time.Second))
}

// titlePattern splits a spec's text, "[ID] MUST sentence", as conformance registers it.
var titlePattern = regexp.MustCompile(`^\[([a-z0-9.-]+)\] (.*)$`)

// FromGinkgo builds the Results of a run from Ginkgo's report. behaviors are the suite's
// behaviours (conformance.Catalogue), looked up by the ID in each spec's text; run carries the
// metadata Ginkgo does not know (Version, Target, Components) and is completed from r.
func FromGinkgo(r ginkgotypes.Report, behaviors []conformance.Behavior, run Run) Results {
	byID := make(map[string]conformance.Behavior, len(behaviors))
	for _, b := range behaviors {
		byID[b.ID] = b
	}
	run.Suite = r.SuiteDescription
	run.Start, run.End = r.StartTime, r.EndTime
	run.DurationSeconds = r.RunTime.Seconds()
	run.Succeeded = r.SuiteSucceeded
	out := Results{Schema: Schema, Specs: []Spec{}}
	for _, s := range r.SpecReports {
		if s.LeafNodeType != ginkgotypes.NodeTypeIt {
			continue
		}
		run.Counts.Total++
		if s.State.Is(ginkgotypes.SpecStatePending) ||
			s.State.Is(ginkgotypes.SpecStateSkipped) && s.NumAttempts == 0 && s.Failure.Message == "" {
			run.Counts.NotRun++
			continue
		}
		sp := specOf(s, byID)
		run.Counts.add(sp.Outcome)
		out.Specs = append(out.Specs, sp)
	}
	out.Run = run
	return out
}

func specOf(s ginkgotypes.SpecReport, byID map[string]conformance.Behavior) Spec {
	sp := Spec{
		Implementation:  strings.Join(s.ContainerHierarchyTexts, " "),
		Labels:          s.Labels(),
		State:           s.State.String(),
		Start:           s.StartTime,
		DurationSeconds: s.RunTime.Seconds(),
		Must:            s.LeafNodeText,
	}
	if m := titlePattern.FindStringSubmatch(s.LeafNodeText); m != nil {
		sp.ID, sp.Must = m[1], m[2]
	}
	if b, ok := byID[sp.ID]; ok {
		sp.Component, sp.Must, sp.Source = b.Component, b.Must, b.Source
	} else if len(s.LeafNodeLabels) > 0 {
		sp.Component = s.LeafNodeLabels[0]
	} else if i := strings.IndexByte(sp.ID, '.'); i > 0 {
		sp.Component = sp.ID[:i]
	}
	switch {
	case s.State.Is(ginkgotypes.SpecStatePassed):
		sp.Outcome = Passed
	case s.State.Is(ginkgotypes.SpecStateSkipped):
		sp.Outcome = Skipped
		sp.SkipReason = strings.TrimSpace(s.Failure.Message)
	default:
		sp.Outcome = Failed
		sp.Failure = strings.TrimSpace(s.Failure.Message)
		if sp.Failure == "" {
			sp.Failure = "spec " + s.State.String()
		}
		if loc := s.Failure.Location; loc.FileName != "" {
			sp.FailureLocation = fmt.Sprintf("%s:%d", loc.FileName, loc.LineNumber)
		}
	}
	return sp
}

// WriteJSON writes r as indented JSON.
func (r Results) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing results.json: %w", err)
	}
	return nil
}

// ReadJSON reads results.json.
func ReadJSON(rd io.Reader) (Results, error) {
	var r Results
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return r, fmt.Errorf("reading results.json: %w", err)
	}
	if r.Schema != Schema {
		return r, fmt.Errorf("reading results.json: schema %q, want %q", r.Schema, Schema)
	}
	return r, nil
}

// ComponentCounts are the counts of one component's specs.
type ComponentCounts struct {
	Component string
	Counts
}

// ByComponent returns the counts of each component's specs, in the order components first
// appear in r.Specs.
func (r Results) ByComponent() []ComponentCounts {
	var out []ComponentCounts
	idx := map[string]int{}
	for _, s := range r.Specs {
		i, ok := idx[s.Component]
		if !ok {
			i = len(out)
			idx[s.Component] = i
			out = append(out, ComponentCounts{Component: s.Component})
		}
		out[i].Total++
		out[i].add(s.Outcome)
	}
	return out
}

// add counts a spec listed with outcome o.
func (c *Counts) add(o Outcome) {
	switch o {
	case Passed:
		c.Passed++
		c.Ran++
	case Failed:
		c.Failed++
		c.Ran++
	case Skipped:
		c.Skipped++
	}
}
