// Package controllers is clusterkit's reference controller manager: the
// Deployment, ReplicaSet, node lifecycle, EndpointSlice, garbage collector,
// ServiceAccount and root CA publisher controllers (each in its own
// subpackage) run together by one runner (subpackage runner), as
// `clusterkit controller-manager` and inside `clusterkit up`.
//
// Any controller can be left out or replaced by a user's own implementation
// of interfaces.Controller (Config.Controllers, Config.Replace), so the
// conformance suite can run against the mix.
package controllers
