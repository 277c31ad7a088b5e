// Package kubeapiserver runs the real kube-apiserver (k8s.io/kubernetes v1.37.2,
// cmd/kube-apiserver/app) in-process with kubeadm's security defaults, on clusterkit's
// embedded etcd, so the conformance suite's auth specs can be run against it and shown
// fair to a real Kubernetes control plane.
//
// It lives in its own Go module so clusterkit's main build does not carry Kubernetes.
// Run its tests with scripts/test-peers.sh from the repository root.
package kubeapiserver
