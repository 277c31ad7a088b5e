// Package inprocess runs a controller manager — the reference controllers,
// or any mix with users' replacements — in-process against a fresh
// in-process reference API server on the memory store, on a virtual clock,
// as a conformance.ControllerHarness. The repository's tests, the known-bad
// self-tests and the benchmarks use it.
package inprocess
