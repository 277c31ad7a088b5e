// Package store groups the reference implementations of interfaces.Store:
// memory (fast, for tests) and etcd (embedded or external, for real use).
package store
