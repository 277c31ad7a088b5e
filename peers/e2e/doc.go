// Package e2e is the peer module of the upstream Kubernetes conformance
// suite: it requires k8s.io/kubernetes at the version clusterkit is built
// against (with the staging modules replaced to match) and pins, in
// tools.go, every package e2e.test, kubectl and agnhost need, so
// `clusterkit conformance upstream` can build them here:
//
//	go test -c k8s.io/kubernetes/test/e2e
//	go build k8s.io/kubernetes/cmd/kubectl
//	go build k8s.io/kubernetes/test/images/agnhost
//
// It also requires clusterkit itself (replaced by ../..; tools.go imports a
// package of it) so that minimal version selection gives it exactly the
// module versions of the main module and of peers/kube-scheduler: the
// packages they share compile once in the build cache, which keeps
// `make test` (the kube-scheduler peer, then the upstream slice) short.
//
// It holds no code of its own, and lives in its own module so clusterkit's
// main build does not carry Kubernetes.
package e2e
