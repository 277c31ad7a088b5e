// Package schedbench measures a scheduler on an API server: it creates
// Node objects (no kubelets), starts the scheduler, creates pods as fast as
// the API server takes them and records, for each pod, the time from its
// creation to its binding being observed. It reports pods scheduled per
// second and latency percentiles, for any scheduler started through a
// function (the reference scheduler, the real kube-scheduler, yours).
package schedbench
