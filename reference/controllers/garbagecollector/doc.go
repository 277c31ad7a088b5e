// Package garbagecollector is the reference garbage collector. It watches
// a set of resources (dynamic informers) and follows their ownerReferences:
//
//   - a dependent whose owners are all gone (no object of that name, or one
//     with another uid — checked against the API, not only the cache) is
//     deleted in the background; owner references to gone owners are
//     removed from dependents that still have a live owner;
//   - an owner being deleted with the foregroundDeletion finalizer (the API
//     server adds it for propagationPolicy=Foreground) has its dependents
//     deleted first (in the foreground too); the finalizer is removed once
//     no dependent with blockOwnerDeletion remains;
//   - an owner being deleted with the orphan finalizer
//     (propagationPolicy=Orphan) has its owner reference removed from every
//     dependent, then the finalizer removed.
//
// Decisions come from the informer caches, which can lag behind the API (a
// dependent orphaned a moment ago still shows its owner there), so every
// delete of a dependent carries the uid and resourceVersion of the version
// it was decided on; on a conflict the live object is deleted only if its
// owner references are still the same.
//
// Namespace deletion (everything in it, then the namespace) is done by the
// reference API server itself unless it runs with DisableNamespaceCleanup.
package garbagecollector
