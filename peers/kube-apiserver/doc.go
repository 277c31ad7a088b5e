// Package kubeapiserver runs the real kube-apiserver (k8s.io/kubernetes v1.37.2,
// cmd/kube-apiserver/app) in-process with kubeadm's security flags (Flags: Node,RBAC
// authorization, NodeRestriction, client-certificate CA, ServiceAccount issuer and keys,
// encryption at rest, TLS), on clusterkit's embedded etcd and PKI, next to
// kube-controller-manager's ClusterRole aggregation controller. The conformance suite's auth
// specs (and, on request, its api specs) run against it, which shows them fair to a real
// Kubernetes control plane.
//
// It lives in its own Go module so clusterkit's main build does not carry Kubernetes.
// Run its tests with scripts/test-peers.sh from the repository root;
// KUBE_APISERVER_API_SPECS=1 adds the api specs, KUBE_APISERVER_LOGS=1 shows kube-apiserver's
// logs and KUBE_APISERVER_KUBECONFIG=PATH writes an admin kubeconfig while the tests run.
//
// Not run by a kubeadm control plane here: the rest of kube-controller-manager (so no
// namespace deletion, no "default" ServiceAccount controller: the specs create that account
// themselves), the scheduler and kubelets.
package kubeapiserver
