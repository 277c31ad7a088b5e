// Package pause is the program of clusterkit's pause image
// (clusterkit.local/pause:v1, at /pause): it holds a pod's namespaces,
// reaps orphaned children and exits 0 on SIGINT or SIGTERM.
//
// The image's binary is either cmd/pause or the clusterkit executable itself,
// called as /pause (package multicall).
package pause
