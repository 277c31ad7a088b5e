// Package localnode runs nodes inside this process: per node a kubelet and,
// by default, its own simulated CRI runtime (cri/simruntime) served over real
// gRPC on a unix socket, or a real runtime (containerd) by endpoint. The
// kubelet can be stopped and started again while the runtime — and every
// container — keeps running, which the kubelet's restart specs need.
//
// clusterkit up, the kubelet's tests and the kubelet conformance harness all
// build their nodes with it.
package localnode
