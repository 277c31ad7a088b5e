// Package podgc is the reference pod garbage collector (kube-controller-manager's
// pod-garbage-collector-controller, pkg/controller/podgc). Every CheckPeriod it:
//
//   - deletes terminated pods (phase Succeeded or Failed) above TerminatedThreshold, evicted
//     pods first, then oldest first (kube-controller-manager's --terminated-pod-gc-threshold,
//     default 12500; 0 disables this part);
//   - deletes orphaned pods, bound to a node that does not exist: a node missing from the
//     informer is quarantined for QuarantineTime (40 s) and then confirmed gone with a GET
//     before its pods are marked Failed with the DisruptionTarget condition (reason
//     DeletionByPodGC) and force-deleted;
//   - force-deletes terminating pods that were never scheduled;
//   - force-deletes terminating pods on a node that is not Ready and carries the
//     node.kubernetes.io/out-of-service taint.
//
// Pods not yet terminal are first patched to phase Failed, as upstream does, so that nothing
// keeps a pod Running that no kubelet will ever report on.
package podgc
