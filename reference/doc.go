// Package reference is the root of clusterkit's reference implementations:
// one working implementation of every contract in interfaces/, each verified
// by the shared conformance suite in conformance/.
package reference
