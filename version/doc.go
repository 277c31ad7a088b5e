// Package version computes the one version every clusterkit component reports: the API
// server's /version, the kubelet's nodeInfo.kubeletVersion, the kube-proxy and `clusterkit
// version`. It is the Kubernetes version of the k8s.io libraries clusterkit is built with
// (k8s.io/client-go v0.37.2 → v1.37.2), with the build's VCS stamp (revision, tree state,
// time) and toolchain, read from runtime/debug.ReadBuildInfo.
package version
