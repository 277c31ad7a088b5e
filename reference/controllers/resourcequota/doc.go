// Package resourcequota is the reference resource-quota controller (kube-controller-manager's
// resourcequota-controller): it keeps every ResourceQuota's status.hard equal to its spec.hard
// and its status.used equal to what the namespace's objects use, measured by the evaluators of
// reference/quota. It recomputes a quota when its spec.hard changes, when an object it counts
// is deleted or a pod stops being charged (replenishment), and every FullResync.
package resourcequota
