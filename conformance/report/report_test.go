package report_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	ginkgotypes "github.com/onsi/ginkgo/v2/types"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/conformance/report"
)

var start = time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC)

// behaviors are the synthetic suite's behaviours; one sentence holds markup that must be escaped.
var behaviors = []conformance.Behavior{
	{ID: "store.watch.resume", Component: "store", Must: "A watch MUST resume after its revision.", Source: "https://kubernetes.io/docs/reference/using-api/api-concepts/"},
	{ID: "store.update.cas", Component: "store", Must: "An update MUST fail on a stale resourceVersion.", Source: "upstream storage interface"},
	{ID: "scheduler.fit.evil", Component: "scheduler", Must: `A pod named <script>alert("x")</script> MUST be scheduled & bound.`, Source: "kube-scheduler NodeResourcesFit"},
	{ID: "kubelet.probe.needs-root", Component: "kubelet", Must: "A probe MUST run as root.", Source: "kubelet docs", Labels: []string{"NeedsRoot"}},
	{ID: "proxy.filtered.out", Component: "proxy", Must: "A filtered spec MUST not be listed.", Source: "proxy docs"},
}

func it(b conformance.Behavior, impl string, state ginkgotypes.SpecState, msg string, offset time.Duration) ginkgotypes.SpecReport {
	r := ginkgotypes.SpecReport{
		ContainerHierarchyTexts:  []string{impl},
		ContainerHierarchyLabels: [][]string{{b.Component}},
		LeafNodeType:             ginkgotypes.NodeTypeIt,
		LeafNodeText:             b.Title(),
		LeafNodeLabels:           append([]string{b.Component}, b.Labels...),
		State:                    state,
		StartTime:                start.Add(offset),
		EndTime:                  start.Add(offset + 1500*time.Millisecond),
		RunTime:                  1500 * time.Millisecond,
		NumAttempts:              1,
	}
	if msg != "" {
		r.Failure = ginkgotypes.Failure{Message: msg, Location: ginkgotypes.CodeLocation{FileName: "/src/conformance/x_specs.go", LineNumber: 42}}
	}
	return r
}

// synthetic is a run of five specs: two passed (one per store), a failure with markup in its
// sentence, a skip with its reason, and a spec the label filter left out.
func synthetic() ginkgotypes.Report {
	filtered := it(behaviors[4], "[proxy] reference proxy", ginkgotypes.SpecStateSkipped, "", 0)
	filtered.NumAttempts, filtered.RunTime = 0, 0
	return ginkgotypes.Report{
		SuiteDescription: "clusterkit conformance",
		SuiteSucceeded:   false,
		StartTime:        start,
		EndTime:          start.Add(10 * time.Second),
		RunTime:          10 * time.Second,
		PreRunStats:      ginkgotypes.PreRunStats{TotalSpecs: 6, SpecsThatWillRun: 5},
		SpecReports: ginkgotypes.SpecReports{
			it(behaviors[0], "[store] memory store", ginkgotypes.SpecStatePassed, "", 0),
			it(behaviors[0], "[store] etcd store", ginkgotypes.SpecStatePassed, "", 2*time.Second),
			it(behaviors[1], "[store] etcd store", ginkgotypes.SpecStateFailed, "Expected\n    <int64>: 3\nto equal\n    <int64>: 4", 4*time.Second),
			it(behaviors[2], "[scheduler] reference scheduler", ginkgotypes.SpecStateFailed, `pod <b>"p"</b> stayed Pending`, 6*time.Second),
			it(behaviors[3], "[kubelet] clusterkit kubelet", ginkgotypes.SpecStateSkipped, "needs root: run as root", 8*time.Second),
			filtered,
			{LeafNodeType: ginkgotypes.NodeTypeReportAfterSuite, LeafNodeText: "readable report", State: ginkgotypes.SpecStatePassed},
		},
	}
}

func results() report.Results {
	return report.FromGinkgo(synthetic(), behaviors, report.Run{Version: "v1.37.2", GitCommit: "abc123", Target: "the in-process reference implementations", Components: []string{"store", "scheduler", "kubelet", "proxy"}})
}

func TestFromGinkgo(t *testing.T) {
	r := results()
	want := report.Counts{Total: 6, Ran: 4, Passed: 2, Failed: 2, Skipped: 1, NotRun: 1}
	if r.Run.Counts != want {
		t.Errorf("counts = %+v, want %+v", r.Run.Counts, want)
	}
	if r.Schema != report.Schema || r.Run.Suite != "clusterkit conformance" || !r.Run.Start.Equal(start) || r.Run.DurationSeconds != 10 {
		t.Errorf("run metadata = %+v", r.Run)
	}
	byKey := map[string]report.Spec{}
	for _, s := range r.Specs {
		byKey[s.ID+" "+s.Implementation] = s
	}
	cas := byKey["store.update.cas [store] etcd store"]
	if cas.Outcome != report.Failed || cas.Component != "store" || cas.Must != behaviors[1].Must || cas.Source != behaviors[1].Source ||
		!strings.Contains(cas.Failure, "to equal") || cas.FailureLocation != "/src/conformance/x_specs.go:42" || cas.DurationSeconds != 1.5 {
		t.Errorf("failed spec = %+v", cas)
	}
	skip := byKey["kubelet.probe.needs-root [kubelet] clusterkit kubelet"]
	if skip.Outcome != report.Skipped || skip.SkipReason != "needs root: run as root" || skip.Failure != "" ||
		!reflect.DeepEqual(skip.Labels, []string{"kubelet", "NeedsRoot"}) {
		t.Errorf("skipped spec = %+v", skip)
	}
	if _, listed := byKey["proxy.filtered.out [proxy] reference proxy"]; listed {
		t.Errorf("a spec the run did not select is listed")
	}
	if len(r.Specs) != 5 {
		t.Errorf("%d specs listed, want 5", len(r.Specs))
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := results()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"schema": "clusterkit.io/conformance-results/v1"`, `"outcome": "failed"`, `"skipReason": "needs root: run as root"`, `"id": "store.watch.resume"`, `"notRun": 1`} {
		if !strings.Contains(buf.String(), field) {
			t.Errorf("results.json lacks %s", field)
		}
	}
	got, err := report.ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip changed the results:\n got %+v\nwant %+v", got, r)
	}
	if _, err := report.ReadJSON(strings.NewReader(`{"schema":"other/v9"}`)); err == nil {
		t.Errorf("ReadJSON accepted another schema")
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	if err := results().WriteLog(&buf); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, want := range []string{
		"2026-12-06T16:00:00.000Z clusterkit v1.37.2 (abc123): clusterkit conformance\n",
		"2026-12-06T16:00:10.000Z the run ended\n\nRan 4 of 6 Specs in 10.000 seconds (1 skipped, 1 not selected)\n",
		"2026-12-06T16:00:04.000Z FAILED  [1.5s] [store.update.cas] An update MUST fail on a stale resourceVersion.  [store] etcd store  (store)\n    Expected\n        <int64>: 3\n",
		"    at /src/conformance/x_specs.go:42\n",
		"SKIPPED [1.5s] [kubelet.probe.needs-root] A probe MUST run as root.",
		"    skipped: needs root: run as root\n",
		"seconds (1 skipped, 1 not selected)\nFAIL! -- 2 Passed | 2 Failed | 1 Skipped | 1 Not run\n",
		"  [FAIL] [store.update.cas] An update MUST fail on a stale resourceVersion.  [store] etcd store\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("e2e.log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "proxy.filtered.out") {
		t.Errorf("e2e.log lists a spec the run did not select")
	}
}

func TestHTMLEscapes(t *testing.T) {
	var buf bytes.Buffer
	if err := results().WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, `<script>alert`) || strings.Contains(page, `<b>"p"</b>`) {
		t.Errorf("report.html carries a sentence's or a failure's markup unescaped")
	}
	for _, want := range []string{`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; MUST be scheduled &amp; bound.`, `pod &lt;b&gt;&#34;p&#34;&lt;/b&gt; stayed Pending`} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks the escaped %s", want)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("report.html has %d <script elements, want 1 (its own)", n)
	}
	for _, external := range []string{"src=", "<link", "@import", "url("} {
		if strings.Contains(page, external) {
			t.Errorf("report.html holds %s: it must be self-contained", external)
		}
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	if err := report.WriteDir(dir, synthetic(), results()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{report.JUnitFile, report.LogFile, report.JSONFile, report.HTMLFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (size %d)", f, err, sizeOf(st))
		}
	}
	junit, err := os.ReadFile(filepath.Join(dir, report.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(junit, &suites); err != nil || suites.Failures != 2 {
		t.Errorf("junit.xml: %v, %+v, want 2 failures", err, suites)
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}
