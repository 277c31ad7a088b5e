// Package knownbad holds deliberately broken implementations of clusterkit's
// contracts, each with one bug a real implementation could have (a store
// whose Update ignores the expected revision, a watch that drops events …).
//
// They exist for one purpose: the conformance suite must reject every one of
// them. Catalogue lists each with the behaviours that must catch its bug and
// builds its harness with the bad part swapped in; the tests of this package
// and "clusterkit conformance selftest" (the kill matrix) both run that list.
// A spec that no known-bad implementation fails is a spec whose ability to
// fail is unproven.
package knownbad
