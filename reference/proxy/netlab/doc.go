// Package netlab builds throw-away network labs for testing service proxies for real: a "node"
// network namespace holding a bridge, and "pods" that are network namespaces attached to that
// bridge, with HTTP servers and clients inside them. Lab.PodNetwork hands pod namespaces to the
// simulated CRI runtime (cri/simruntime Options.PodNetwork), so kubelet-started pods get them.
// Pods' bridge ports are in hairpin mode, as the bridge CNI plugin's hairpinMode sets them.
//
// Safety: a lab is closed off. The node namespace has no interface but its bridge and the pods'
// veths; nothing connects it to the machine's own namespace, so no address of a lab is routed
// off the machine and nothing is masqueraded to the uplink. Every namespace is named with the
// lab's prefix (default "ckp-"); Close deletes them all, and scripts/cleanup-netlabs.sh removes
// leftovers of crashed runs by that prefix. Needs root.
package netlab
