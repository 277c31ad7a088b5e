// Package controllerruntime is a peer module: it proves that an admission webhook server
// written with sigs.k8s.io/controller-runtime — what operators and Helm charts install —
// works unchanged behind clusterkit's API server (AdmissionReview v1 on the wire, mutating
// before validating, patches applied, denials reaching kubectl's users). It is a separate
// module so the main module does not depend on controller-runtime. Its lab test runs the same
// server (cmd/crwebhook) as a Deployment in a clusterkit lab, as an operator installs one.
package controllerruntime
