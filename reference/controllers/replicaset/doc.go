// Package replicaset is the reference ReplicaSet controller: it creates or
// deletes pods, in bounded slow-start batches, until a ReplicaSet's active
// pods match spec.replicas; adopts orphan pods its selector matches and
// releases pods that stop matching (ownerReferences with controller=true);
// deletes the least useful pods first (unscheduled, then pending, then not
// ready, then the newest); and reports status (observedGeneration, replicas,
// fullyLabeled, ready and available counts).
//
// Like Kubernetes' controller it records expectations — how many creations
// and which deletions it is waiting to see in its cache — and does not act on
// a ReplicaSet again until they are observed, so a stale cache never makes it
// overshoot.
package replicaset
