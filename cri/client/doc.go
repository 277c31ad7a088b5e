// Package client connects to any CRI runtime by socket — the simulated
// runtime (cri/simruntime) or containerd — through k8s.io/cri-client, the
// kubelet's own remote runtime and image services. Building an Endpoint
// does not dial; Runtime, Images and Raw do.
package client
