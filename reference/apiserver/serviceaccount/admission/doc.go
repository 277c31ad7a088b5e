// Package admission is the ServiceAccount admission plugin of the reference API server, as
// kube-apiserver's plugin/pkg/admission/serviceaccount: on every pod create it defaults
// spec.serviceAccountName to "default", refuses a pod whose ServiceAccount does not exist (403
// Forbidden), copies the ServiceAccount's imagePullSecrets to a pod that has none and, unless
// automountServiceAccountToken is false on the pod (or, when the pod says nothing, on the
// ServiceAccount), adds the projected volume kube-api-access-<5 random> (a bound token for
// the ServiceAccount valid 3607 s, the cluster's CA bundle from the kube-root-ca.crt ConfigMap
// and the pod's namespace) mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
// in every container and init container that has nothing mounted there. Mirror pods (the
// API copies of a kubelet's static pods) are left alone and may not reference a
// ServiceAccount, Secrets or ConfigMaps.
package admission
