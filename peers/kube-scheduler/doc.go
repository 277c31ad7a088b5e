// Package kubescheduler runs the real kube-scheduler (k8s.io/kubernetes
// v1.37.2, cmd/kube-scheduler/app) in-process as a peer of clusterkit's
// reference scheduler, so the scheduler conformance specs and the scheduler
// benchmark can run against both on the same API server.
//
// It lives in its own Go module so clusterkit's main build does not carry
// Kubernetes (a ~200 s, 2 GB cold build). Run its tests with
// scripts/test-peers.sh from the repository root.
package kubescheduler
