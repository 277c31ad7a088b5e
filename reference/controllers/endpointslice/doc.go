// Package endpointslice is the reference EndpointSlice controller: for
// every Service with a selector it keeps EndpointSlices (labelled
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by,
// owned by the Service) listing the addresses of the matching pods that have
// an IP, with ready/serving/terminating conditions, node and target
// reference, and the Service's ports resolved against each pod's container
// ports (named target ports may resolve differently per pod: pods are
// grouped into slices by their resolved port set, at most 100 endpoints a
// slice).
package endpointslice
