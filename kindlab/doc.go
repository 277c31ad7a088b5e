// Package kindlab builds multi-node clusterkit labs for CI, in the spirit of
// kind: every node is a "container" of its own — a network namespace with
// one process inside (the node agent) that runs a private containerd, the
// kubelet and the service proxy of that node — next to a control-plane
// process (embedded etcd, API server, scheduler, controller manager). The
// lab outlives the command that created it and is reached only through its
// kubeconfig; Delete (clusterkit lab delete) stops it and removes every
// namespace, link, directory and process it made.
//
// Network: a bridge in the machine's namespace (cklab<N>, 10.250.N.0/24, its
// first address is where the API server listens) with one veth per node;
// node i has 10.250.N.(i+1) and pods in 10.244.i.0/24 on a containerd bridge
// inside its namespace. Nodes route each other's pod subnets over the lab
// bridge, pods route the pod range, the Service range and the lab subnet to
// their node, and
// no namespace of a lab has a default route: nothing a lab does can leave the
// machine, and nothing is masqueraded towards an uplink.
//
// A lab's state (addresses, process IDs, kubeconfig) is kept in
// Dir/lab.json; logs of every process in Dir/logs.
package kindlab
