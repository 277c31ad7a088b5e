// Package kindlab builds multi-node clusterkit labs for CI, in the spirit of
// kind: every node is a container of its own, run by runc from an OCI bundle
// (the runtime-spec types): the lab's node image as its read-only root file
// system (clusterkit, containerd, runc, iptables, the CNI plugins and busybox, made from
// the machine's files), its own PID, mount, UTS (hostname = node name), IPC,
// cgroup and network namespaces, and a cgroup whose CPU and memory limits are
// the capacity the node reports. Inside, the clusterkit executable is init
// (RunInit) and the node agent its child: the node's own containerd (real,
// nested containers through CRI), the kubelet and, on the control-plane node,
// etcd, the API server, the scheduler and the controller manager as static
// pods. Killing a node's container is a node failure. Labs made with
// NodeNamespaces (and labs older than node containers) have a network
// namespace with the node agent in it instead. The lab outlives the command
// that created it and is reached only through its kubeconfig; Delete
// (clusterkit lab delete) stops it and removes every container, cgroup,
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
