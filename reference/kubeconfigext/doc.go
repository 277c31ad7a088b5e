// Package kubeconfigext holds what a clusterkit cluster records about itself in its
// kubeconfig: an extension of the cluster entry (clusters[].cluster.extensions, named
// clusterkit.io/cluster) saying what made the cluster and where its nodes' containerd
// sockets are, so a tool given only the kubeconfig — clusterkit conformance upstream,
// which imports the e2e images into the nodes — finds the nodes' runtimes.
//
// Set records a Cluster in a clientcmd API cluster entry; Get reads it back; Load and
// ContainerdAddresses read it from a kubeconfig file (the cluster of its current
// context). The extension is plain JSON carried as a runtime.Unknown, the way clientcmd
// keeps any extension: stock kubectl and client-go ignore it and keep it when they
// rewrite the file (kubectl config set-context …).
package kubeconfigext
