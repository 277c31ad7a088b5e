// Package disruption is the reference disruption controller (kube-controller-manager's
// disruption controller): it keeps the status of every PodDisruptionBudget — expectedPods,
// currentHealthy, desiredHealthy, disruptionsAllowed, observedGeneration, the DisruptionAllowed
// condition — from the pods its selector matches and, for maxUnavailable and percentages, the
// scale of their controllers (ReplicaSets, StatefulSets, Deployments through their
// ReplicaSets). The API server's eviction subresource reads and decrements disruptionsAllowed
// and records evicted pods in disruptedPods, which the controller forgets once the pod is gone
// or the entry is two minutes old. kubectl drain, which evicts, thereby respects budgets.
package disruption
