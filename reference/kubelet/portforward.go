package kubelet

import (
	"fmt"
	"net/http"
	"strconv"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// servePortForward answers /portForward/NS/POD as the kubelet does with a CRI runtime: it asks
// the runtime for a streaming URL for the pod's sandbox (CRI PortForward; the ports, when the
// query names them, are only a hint: each forwarded stream names its port) and proxies the
// client's SPDY or WebSocket upgrade there. The runtime's streaming server dials the port
// inside the pod's network namespace.
func (k *Kubelet) servePortForward(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("pod")
	wk := k.workerFor(ns, name)
	if wk == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s is not on node %s", ns, name, k.cfg.NodeName), http.StatusNotFound)
		return
	}
	pod := wk.currentPod()
	ctx := r.Context()
	sandboxes, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{LabelPodUID: string(pod.UID)}})
	if err != nil {
		http.Error(w, fmt.Sprintf("port-forward: listing the pod's sandboxes: %v", err), http.StatusInternalServerError)
		return
	}
	sb := readySandbox(sandboxes)
	if sb == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s has no running sandbox", ns, name), http.StatusBadRequest)
		return
	}
	var ports []int32
	for _, p := range r.URL.Query()["ports"] {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 1 || n > 65535 {
			http.Error(w, fmt.Sprintf("invalid port %q", p), http.StatusBadRequest)
			return
		}
		ports = append(ports, int32(n))
	}
	resp, err := k.runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: sb.Id, Port: ports})
	if err != nil {
		http.Error(w, fmt.Sprintf("port-forward: %v", err), http.StatusInternalServerError)
		return
	}
	k.proxyStream(w, r, "port-forward", resp.Url, nil)
}
