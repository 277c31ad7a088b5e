// Package metrics holds the API server's Prometheus metrics, named and labelled as
// kube-apiserver's (apiserver_request_total, apiserver_request_duration_seconds,
// apiserver_longrunning_requests, apiserver_registered_watchers), in a registry of each server's
// own (no global registry), with the HTTP filter that records them and the /metrics handler.
package metrics
