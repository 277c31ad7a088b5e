// Package pki is the public-key infrastructure a cluster makes for itself, as kubeadm does: a
// cluster CA kept in a directory (files 0600, directory 0700), created once and reused, that
// issues the API server's serving certificate, an administrator's client certificate, one client
// certificate per component with the identity Kubernetes gives it (system:kube-scheduler,
// system:kube-controller-manager, system:kube-proxy, kube-apiserver-kubelet-client, system:node:NAME), a serving
// certificate per kubelet, and the ServiceAccount token signing key pair (sa.key, sa.pub).
//
// Certificates are made with crypto/x509 and k8s.io/client-go/util/cert and keyutil; nothing
// here touches the network.
package pki
