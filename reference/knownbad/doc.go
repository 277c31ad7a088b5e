// Package knownbad holds deliberately broken implementations of clusterkit's
// contracts, each with one bug a real implementation could have (a store
// whose Update ignores the expected revision, a watch that drops events …).
//
// They exist for one purpose: the conformance suite must reject every one of
// them, and the tests of this package assert that it does, naming the
// behaviours that catch each bug. A spec that no known-bad implementation
// fails is a spec whose ability to fail is unproven.
package knownbad
