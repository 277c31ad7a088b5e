// Package harness holds the conformance harnesses of clusterkit's reference
// implementations — the memory and etcd stores, the API server in-process,
// a live cluster by kubeconfig — so that the repository's tests and the
// clusterkit conformance command run the suite against exactly the same
// configurations.
package harness
