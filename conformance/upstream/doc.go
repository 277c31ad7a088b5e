// Package upstream runs the upstream Kubernetes conformance suite (the
// e2e.test binary that sonobuoy and hydrophone run) against any cluster
// reachable by kubeconfig, as `clusterkit conformance upstream` does.
//
// It builds e2e.test, kubectl and agnhost from the peers/e2e module (the
// Kubernetes version clusterkit is built against) and caches them; composes
// the images the specs use (agnhost, busybox, nginx, pause under their
// registry.k8s.io names) from those binaries and Debian's static busybox, so
// no registry is needed, and loads them into the cluster's containerd
// instances (a clusterkit lab's nodes, or given sockets); lists the
// [Conformance] specs with a dry run and selects them by area shorthand,
// focus and skip; runs them in shards of exact spec names, in parallel, and
// the [Serial] ones alone afterwards; and merges the shards' reports into
// one JUnit file, one e2e.log, a per-area table and the failures grouped by
// cause.
package upstream
