// Package validation holds the defaulting and validation rules that clusterkit's API server applies
// to every object written through it, following the rules Kubernetes applies to the same kinds.
//
// Everything here is a pure function over k8s.io/api types: no HTTP, no storage, no clock. The
// server calls, on every write:
//
//   - Default(obj) on a create (and on the new object of an update, as Kubernetes' decoder does),
//   - ValidateCreate(obj) after defaulting on a create,
//   - ValidateUpdate(newObj, oldObj) on an update of the main resource,
//   - ValidateStatusUpdate(newObj, oldObj) on a write through the /status subresource,
//
// and turns a non-empty field.ErrorList into a 422 Invalid status with apierrors.NewInvalid.
//
// Field paths follow Kubernetes (metadata.labels, spec.containers[0].image,
// spec.template.metadata.labels) so that error messages read the same as a real cluster's.
//
// Covered kinds: core/v1 Namespace, Node, Pod, Service, Endpoints, Event, ConfigMap, Secret,
// ServiceAccount, Binding; apps/v1 Deployment, ReplicaSet; autoscaling/v1 Scale;
// coordination.k8s.io/v1 Lease; discovery.k8s.io/v1 EndpointSlice; policy/v1 Eviction. Any other object gets only the
// ObjectMeta checks (as a namespaced kind with a DNS-1123 subdomain name).
//
// Things this package deliberately leaves to the server: filling system fields (uid,
// creationTimestamp, resourceVersion, generation) and copying them from the stored object on an
// update before ValidateUpdate is called; allocating cluster IPs and node ports; name generation.
package validation
