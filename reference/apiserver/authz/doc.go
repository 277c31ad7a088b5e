// Package authz holds the API server's built-in authorizers, to be put in front of RBAC in a
// k8s.io/apiserver/pkg/authorization/union: Privileged (system:masters may do everything, as
// kube-apiserver's privileged-group authorizer), PublicInfo (anyone may read the health and
// version endpoints, as kubeadm's system:public-info-viewer) and Discovery (authenticated users
// may read the discovery and OpenAPI documents, as system:discovery and system:basic-user).
// Default chains the three; a request none of them allows is denied with kube-apiserver's 403.
package authz
