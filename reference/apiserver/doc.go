// Package apiserver is clusterkit's Kubernetes-wire-compatible API server: it serves the
// resources of the registry package over HTTP the way kube-apiserver does (discovery, CRUD,
// strategic-merge/merge/JSON patch, watch, Table output, subresources, metav1.Status errors)
// and persists every object through an interfaces.Store, so stock kubectl and client-go work
// against it.
//
// New builds a Server from a Config without touching the network; Handler returns its
// http.Handler and Serve runs it on a listener until the context ends. WriteKubeconfig writes an
// admin kubeconfig for the server's URL.
//
// Layers: registry (what is served), storage (typed objects in the byte store), validation
// (defaulting and field checks), tables (kubectl columns), openapi (schemas for kubectl's
// validation) and discovery (the discovery documents). This package holds the HTTP edge and
// the request semantics: system metadata, generation, status/spec isolation, finalizers,
// graceful pod deletion, selectors, watch, and the subresources.
package apiserver
