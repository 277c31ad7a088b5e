// Package nodeipam is the reference node IPAM controller (kube-controller-manager's
// node-ipam-controller with the RangeAllocator, --allocate-node-cidrs): it gives every Node
// without one a pod CIDR — spec.podCIDR and spec.podCIDRs — carved from the cluster CIDR
// (--cluster-cidr, default 10.244.0.0/16) in blocks of NodeMaskSize bits
// (--node-cidr-mask-size, default 24), never the same block to two nodes. A node that comes
// with a podCIDR already set (a kubelet or an administrator set it) keeps it, and its block
// is never given to another node; a deleted node's block becomes free again. When the range
// is exhausted the node gets a CIDRNotAvailable Event and is retried later.
package nodeipam
