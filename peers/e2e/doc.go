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
// It holds no code of its own, and lives in its own module so clusterkit's
// main build does not carry Kubernetes.
package e2e
