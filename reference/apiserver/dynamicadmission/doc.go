// Package dynamicadmission is Kubernetes' dynamic admission control for the reference API
// server: the MutatingAdmissionPolicy, MutatingAdmissionWebhook, ValidatingAdmissionPolicy
// and ValidatingAdmissionWebhook plugins of k8s.io/apiserver, configured by the cluster's
// admissionregistration.k8s.io/v1 objects, read through informers on the server's loopback
// client. Webhook Services resolve to a ready endpoint of the Service (kube-apiserver's
// --enable-aggregator-routing), else its ClusterIP; the AdmissionReview v1 wire is the
// library's.
package dynamicadmission
