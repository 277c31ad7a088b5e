// Package kubeletharness binds clusterkit's kubelet to the kubelet
// conformance specs: per spec a fresh in-process API server (memory store)
// and one node from package localnode, on the simulated runtime or on a real
// CRI runtime such as containerd. The known-bad kubelets of
// reference/knownbad and clusterkit conformance use it too.
package kubeletharness
