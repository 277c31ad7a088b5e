// Package report turns a run of the conformance suite (Ginkgo's types.Report) into the files
// people and tools read, written into one directory by WriteDir:
//
//   - junit.xml: Ginkgo's JUnit report, for CI systems;
//   - e2e.log: a plain log in the manner of upstream e2e's e2e.log — one line a spec with its
//     time, outcome, behaviour ID and MUST sentence, the failure message and location of every
//     failure, the reason of every skip, and a summary ("Ran N of M Specs …");
//   - results.json: the run as a stable JSON document (Results, schema
//     "clusterkit.io/conformance-results/v1"): the run's metadata and one entry a spec run;
//   - report.html: one self-contained page (inline CSS and script, nothing fetched) listing every
//     spec per component with its outcome, MUST sentence, failure and time, counts per
//     component at the top, a filter by outcome and a search box.
//
// FromGinkgo builds the Results from a types.Report and the suite's behaviours
// (conformance.Catalogue), so that every spec carries its behaviour ID, sentence and source.
// Specs that the run did not select (--focus, --skip, --label-filter) are counted, not listed.
// `clusterkit conformance --report DIR` uses it; an implementer's own Ginkgo suite can too:
//
//	var _ = ginkgo.ReportAfterSuite("report files", func(r types.Report) {
//		behaviors, _ := conformance.Catalogue()
//		results := report.FromGinkgo(r, behaviors, report.Run{Version: "my-store v0.3", Target: "my store"})
//		if err := report.WriteDir("conformance-report", r, results); err != nil {
//			ginkgo.Fail(err.Error())
//		}
//	})
package report
