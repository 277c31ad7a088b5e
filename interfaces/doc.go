// Package interfaces holds the contracts between clusterkit's components.
//
// Each contract is small and documents, on its methods, what a caller may rely
// on: which error class a failure carries (always one of apimachinery's
// k8s.io/apimachinery/pkg/api/errors classes, so the API server can turn it
// into a Kubernetes Status response), what is idempotent, and what happens
// with a missing object. The package depends on nothing heavier than
// apimachinery: no etcd, no containerd, no Ginkgo. Implementations live in
// reference/ (and in users' code); the conformance suite in conformance/
// verifies any of them against these contracts.
package interfaces
