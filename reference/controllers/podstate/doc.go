// Package podstate answers what controllers ask of a pod: is it active,
// ready, available, scheduled — with Kubernetes' meanings.
package podstate
