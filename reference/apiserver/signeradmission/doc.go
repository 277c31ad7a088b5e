// Package signeradmission holds the admission plugin that lets only a signer issue a
// PodCertificateRequest: a status write that sets or changes status.certificateChain needs
// the "sign" verb on certificates.k8s.io "signers" named for the request's signer (or its
// "domain/*" wildcard), as kube-apiserver's PodCertificateRequest status strategy checks.
package signeradmission
