// Package endpointslicemirroring is the reference EndpointSlice mirroring controller
// (kube-controller-manager's "endpointslice-mirroring"): the Endpoints of a Service without a
// selector are written by their user, and this controller mirrors them into EndpointSlices
// labelled kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by:
// endpointslicemirroring-controller.k8s.io, owned by the Endpoints, so that consumers of
// EndpointSlices (kube-proxy, DNS) see them. Each subset becomes slices of its address family
// and ports (ready and not-ready addresses with their conditions, at most 1000 addresses a
// subset); the Endpoints' labels and annotations are copied. Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror=true, leader-election records, Endpoints of a
// Service with a selector and Endpoints without a Service are not mirrored, and slices mirrored
// earlier are deleted.
package endpointslicemirroring
