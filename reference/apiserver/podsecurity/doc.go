// Package podsecurity is the Pod Security admission plugin of the reference API server:
// k8s.io/pod-security-admission's own admission logic and policy checks behind the
// k8s.io/apiserver admission interface, as kube-apiserver's PodSecurity plugin. It enforces
// the pod-security.kubernetes.io/enforce, warn and audit namespace labels (and their -version
// labels) on pods, checks the pod templates of workloads for warn and audit, rejects invalid
// labels on namespace creation, and warns on a namespace update that tightens enforce about
// the pods already there. Namespaces without labels get the plugin's default levels.
package podsecurity
