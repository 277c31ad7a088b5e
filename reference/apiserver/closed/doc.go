// Package closed composes the reference API server closed the way kubeadm closes
// kube-apiserver: client certificates of the cluster CA and ServiceAccount tokens
// authenticate; anonymous requests reach only the public-info endpoints;
// --authorization-mode=Node,RBAC with the bootstrap policy; NodeRestriction and RBAC's
// escalation check before the caller's admission plugins (Pod Security, ServiceAccount);
// and encryption at rest. clusterkit up and the in-process harnesses use it, so the cluster a
// user starts and the one the suite checks are the same.
package closed
