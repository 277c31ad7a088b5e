// Package expectations records the pod creations and deletions a controller has made and its
// informer cache has not yet shown, so that a sync does not act twice on a stale cache — the
// "expectations" of Kubernetes' ReplicaSet, DaemonSet and Job controllers.
package expectations
