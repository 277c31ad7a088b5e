// Package clusterdns is the cluster DNS server of the clusterkit.local/clusterdns image, run
// by the add-on (Deployment coredns in kube-system): it answers the Kubernetes DNS schema
// from the API (in-cluster credentials) and forwards other names to the nameservers of
// /etc/resolv.conf. /health (port 8080) answers while the process runs, /ready (8181) once
// the informers have synced, /metrics (9153) counts queries.
//
// The image's binary is either cmd/clusterdns or the clusterkit executable itself, called as
// /clusterdns (package multicall).
package clusterdns
