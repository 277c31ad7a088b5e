// Package aggregation is the API server's aggregation layer, as kube-aggregator: requests to
// the group-version of an APIService backed by a Service are proxied to that extension API
// server (authenticated as the front-proxy client, with the requester's identity in the
// X-Remote-User, X-Remote-Group and X-Remote-Extra-* headers), the service-backed APIServices'
// groups are merged into discovery, upstream's availability controller keeps their
// Available condition, and the extension-apiserver-authentication ConfigMap in kube-system
// tells extension servers which CAs and headers to trust.
package aggregation
