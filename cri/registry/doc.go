// Package registry runs an in-process OCI registry
// (go-containerregistry's pkg/registry) on a loopback port and pushes
// images to it, so a runtime's real pull path (containerd's, pointed at it
// with a certs.d hosts.toml) runs without any outside registry.
package registry
