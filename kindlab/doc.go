// Package kindlab will hold clusterkit's multi-node labs in containers for CI:
// nodes as privileged containers (or network namespaces) each running
// containerd, a kubelet and a proxy, created step by step with progress lines
// and addressed only by kubeconfig.
//
// It is not built yet; until it is, "clusterkit up" runs a whole cluster in
// one process (the in-process fidelity level) and "clusterkit conformance
// --kubeconfig" runs the specs against any live cluster.
package kindlab
