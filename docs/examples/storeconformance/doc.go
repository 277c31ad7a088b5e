// Package storeconformance is the example of docs/store-conformance.md: the
// whole test wiring a third party needs to run clusterkit's store suite
// against their own interfaces.Store. It is compiled and run by go test, so
// the example in the docs cannot rot.
//
// The store under test here is clusterkit's in-memory store standing in for
// "your store"; replace memory.New() with your constructor.
package storeconformance
