// Package containerd starts and stops a private containerd (Debian's 1.6
// binary, or any on PATH) with a generated configuration that works on
// these machines — restricted oom_score_adj, cgroupfs, its own root, state,
// sockets, runc root and CNI network on a bridge of its own with no
// masquerade — waits until its CRI Status reports ready, imports image
// archives into its k8s.io namespace (containerd/v2 client), and cleans up
// after itself, including what containerd leaves outside its directories.
package containerd
