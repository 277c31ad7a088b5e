// Package runner runs interfaces.Controller implementations: it owns the
// clients and the shared informer factories, gives each controller a
// rate-limited work queue with exponential backoff, runs N workers per
// controller and injects the clock controllers measure time with (a fake clock
// in tests, so grace periods elapse in virtual time).
//
// A controller is built by a Factory from a Context; the factory registers the
// controller's event handlers on the shared informers and maps events to keys
// on Context.Queue. The runner starts the informers only after every factory
// ran, waits for their caches, then starts the workers.
package runner
