// Package daemonset is the DaemonSet controller (kube-controller-manager's "daemonset"): for
// every node where a DaemonSet's pod template should run — its required node affinity and
// nodeSelector match and every NoSchedule/NoExecute taint is tolerated, counting the default
// tolerations the controller adds — it keeps exactly one daemon pod, and deletes daemon pods on
// nodes where they should not run, surplus pods on a node (the oldest stays) and Failed pods
// (replaced, with a per-node backoff).
//
// Daemon pods are placed by the scheduler: the controller pins each to its node with a required
// node affinity term matchFields metadata.name In [node] and leaves spec.nodeName empty. Each
// template is recorded in a ControllerRevision named <daemonset>-<hash>; pods carry the
// controller-revision-hash and pod-template-generation labels. Template changes roll out with
// the RollingUpdate strategy (maxUnavailable, maxSurge) or wait for pods to be deleted
// (OnDelete). Expectations, like the ReplicaSet controller's, keep a DaemonSet from acting
// again before its cache has seen its own creations and deletions.
package daemonset
