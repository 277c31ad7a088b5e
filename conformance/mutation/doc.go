// Package mutation is clusterkit's mutation tester: it proves that a test
// command catches small, plausible bugs in the code it covers.
//
// Enumerate finds the mutants of a Go file with the kit's operator set —
// comparison boundary and negation flips, && and || swapped, a dropped !,
// integer literals off by one, return true/false swapped, if conditions
// forced true or false, and break/continue removed — each a byte-range
// replacement recorded with its file:line:col. A Runner applies one mutant
// at a time without touching the tree (go test -overlay, the mutated copy in
// a temporary directory), runs the given tests with a timeout, and classifies
// the mutant: KILLED (a test failed), TIMEOUT (counted as killed), SURVIVED
// (every test passed: the tests let the bug through) or NOT VIABLE (it does
// not build; reported apart, not counted). Equivalent mutants — changes no
// test can observe, listed with the reason in a Markdown table
// (ReadEquivalents) — are printed but left out of the kill rate.
//
// The command "clusterkit conformance mutate" drives it; docs/testing.md has
// the scheduler's figures.
package mutation
