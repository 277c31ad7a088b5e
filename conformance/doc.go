// Package conformance is clusterkit's conformance suite: the documented
// behaviours of each cluster component, written once and run against any
// implementation.
//
// Every spec states one behaviour as a MUST sentence, carries a behaviour ID
// (component.area.name) and the component label, and observes the behaviour
// only through the component's contract (interfaces/) or the Kubernetes API.
// An implementation plugs in through a harness that builds a fresh instance
// for every spec, and the suite runs in three ways:
//
//   - plain go test: conformance.RunStore(t, harness) runs every spec as a
//     subtest (select with go test -run);
//   - inside the implementer's own Ginkgo suite:
//     var _ = conformance.DescribeStore(harness), with Ginkgo labels,
//     focus/skip and JUnit reports;
//   - programmatically: conformance.CheckStore(ctx, harness) returns one
//     Result per spec, which is how the repository proves that known-bad
//     implementations are rejected.
//
// Optional capabilities (durability across a restart, snapshots) are
// declared by the harness; a spec that needs one the harness lacks is
// skipped with the reason printed, never passed untested.
//
// The package imports interfaces/ and never reference/: it cannot know the
// implementation it judges. The catalogue of behaviours (docs/behaviors.md)
// is generated from the specs' metadata by Catalogue and Markdown. Package
// conformance/report turns a Ginkgo run into the report files people read
// (e2e.log, results.json, report.html) with that metadata.
package conformance
