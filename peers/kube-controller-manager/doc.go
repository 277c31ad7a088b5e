// Package kubecontrollermanager runs the real kube-controller-manager (k8s.io/kubernetes
// v1.37.2, cmd/kube-controller-manager/app: NewKubeControllerManagerOptions, its flags,
// Config, Run) in-process against clusterkit's reference API server, so the controller
// conformance specs run against it and are shown fair to Kubernetes' own controllers.
//
// Harness gives every spec a fresh API server (memory store, its built-in namespace cleanup
// off, so kube-controller-manager's namespace controller empties deleted namespaces) and a
// kube-controller-manager with kubeadm's flags where they apply (--controllers=*,
// --leader-elect=false, --use-service-account-credentials=false: the server is clusterkit's
// open one; no --secure-port; the node IPAM range allocator on the harness's ClusterCIDR). It
// runs in real time (no VirtualTime: the 10 specs of grace periods and deadlines are skipped
// with the reason) and is restartable (Run returns when its context is cancelled; configz is
// the only process-wide registration, so one kube-controller-manager runs at a time). The
// suite's podStatusDriver stands in for scheduler and kubelets.
//
// Differences found and what was done (docs/controllers.md, "Proving the specs fair"):
//   - clusterkit's API server answered Accept as=PartialObjectMetadata with empty metadata,
//     so the garbage collector (a metadata client) took every dependent for gone: fixed in
//     reference/apiserver (render.go).
//   - controllers.endpointslice.tracks-pods bound a pod to a Node that did not exist, which
//     upstream's EndpointSlice reconciler leaves out: the spec now creates the Node; the
//     reference endpointslice controller listed such pods and now leaves them out, checked by
//     the new spec controllers.endpointslice.missing-node.
//   - controllers.daemonset.status expected the status to follow a node's new NoSchedule
//     taint by itself; kube-controller-manager's syncNodeUpdate does not resync the DaemonSet
//     then (kubernetes/kubernetes#132459): the spec now touches the DaemonSet after the taint.
//
// It lives in its own Go module so clusterkit's main build does not carry Kubernetes. Run its
// tests with scripts/test-peers.sh from the repository root; KUBE_CONTROLLER_MANAGER_LOGS=N
// shows kube-controller-manager's logs at verbosity N.
package kubecontrollermanager
