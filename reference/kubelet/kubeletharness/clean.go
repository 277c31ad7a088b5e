package kubeletharness

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// cleanRuntime removes every sandbox the node's kubelet made on a shared
// runtime (a spec's pods must not outlive it on containerd).
func cleanRuntime(n *localnode.Node) {
	_ = n.StopKubelet()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt := n.Runtime()
	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{kubelet.LabelNode: n.Name()}})
	if err != nil {
		return
	}
	for _, sb := range sbs {
		ctrs, _ := rt.ListContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: sb.Id})
		for _, c := range ctrs {
			_ = rt.StopContainer(ctx, c.Id, 0)
			_ = rt.RemoveContainer(ctx, c.Id)
		}
		_ = rt.StopPodSandbox(ctx, sb.Id)
		_ = rt.RemovePodSandbox(ctx, sb.Id)
	}
}
