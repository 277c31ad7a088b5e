// Package deployment is the reference Deployment controller. It creates and
// owns ReplicaSets named "<deployment>-<pod-template-hash>" (the hash as
// Kubernetes computes it: FNV-32a over the dumped pod template, safe-encoded),
// rolls out template changes with the RollingUpdate (maxSurge,
// maxUnavailable) or Recreate strategy, scales, keeps revision annotations so
// that `kubectl rollout history/undo` work, deletes old ReplicaSets beyond
// revisionHistoryLimit, and reports status — observedGeneration, replica
// counts, the Available and Progressing conditions and the progress deadline —
// the way `kubectl rollout status` expects.
package deployment
