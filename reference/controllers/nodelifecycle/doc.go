// Package nodelifecycle is the reference node lifecycle controller. It
// watches the node Leases in kube-node-lease (and the nodes' own Ready
// heartbeats); a node not heard from for the grace period gets its
// conditions set to Unknown ("Kubelet stopped posting node status."), its
// pods marked not ready, and the node.kubernetes.io/unreachable NoSchedule
// and NoExecute taints (node.kubernetes.io/not-ready when Ready is False).
// Pods on a node with NoExecute taints they do not tolerate are evicted
// (deleted) once their toleration period, counted from the taint's
// timeAdded, runs out — 300 s for pods without a toleration for the
// unreachable and not-ready taints, as Kubernetes' DefaultTolerationSeconds
// admission gives them. The taints leave when the node reports Ready again.
//
// A heartbeat is a change of the Lease's renewTime (or of the Ready
// condition's lastHeartbeatTime) as observed by the controller; its age is
// measured on the manager's clock from the moment of observation, so the
// controller is immune to clock skew between nodes and the control plane,
// and tests can step a fake clock.
//
// It records the node controller's Events on the Node: RegisteredNode, NodeNotReady when it
// turns a Ready node Unknown, RemovingNode when a node it knew is gone. Opt-in (Config.DeleteAfter,
// a clusterkit extension; Kubernetes without a cloud provider keeps dead Nodes forever), a
// node Unknown and silent for DeleteAfter past the grace period is deleted (DeletingNode), its
// pods left to the pod garbage collector; a node whose Lease is renewed never is.
package nodelifecycle
