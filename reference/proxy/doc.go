// Package proxy is clusterkit's reference service proxy (kube-proxy's role): a component built
// from a *rest.Config and a node name that follows Services and EndpointSlices (DesiredState
// turns them into interfaces.ProxyState) and hands the result to an interfaces.ProxyDataplane.
//
// NFTables is the reference dataplane: one nftables table of its own (DefaultTable) in a chosen
// network namespace, updated incrementally in one netlink batch per Sync, taken over atomically
// after a restart, and deleted by Cleanup. Recorder is a dataplane for unit tests. Subpackage
// netlab builds isolated network namespaces (a node with a bridge, pods with HTTP servers) to
// test a dataplane with real traffic.
package proxy
