// Package scheduler is clusterkit's reference scheduler.
//
// Framework is the placement decision as a pure function of (pod, node
// snapshot): it runs the Filter plugins of a Profile over the nodes and
// picks the best-scored feasible node, or returns an
// *interfaces.FitError worded like Kubernetes' ("0/3 nodes are available:
// 1 Insufficient cpu, 2 node(s) had untolerated taint {…}."). The plugins
// live in package plugins.
//
// Scheduler is the running component (interfaces.Component) built from a
// *rest.Config: it watches nodes and pods through client-go informers,
// keeps a node snapshot with what bound pods request, places each pending
// pod whose spec.schedulerName is its own, assumes the pod on the chosen
// node before binding (so a burst of pods never overcommits a node) and
// records the decision through the pods/binding subresource only. A pod
// that fits nowhere gets PodScheduled=False (reason Unschedulable) and is
// parked until a node is added or changes or a pod goes away.
package scheduler
