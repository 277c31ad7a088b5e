// Package apitest serves a fresh in-process reference API server (on the
// memory store, on a loopback port) for one test of a controller package
// that drives a controller by hand: its informers left unstarted, its
// caches filled by the test, its Reconcile called directly, against a real
// API with real preconditions and finalizers.
package apitest
