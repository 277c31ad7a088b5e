// Package nodeauthz holds kube-apiserver's Node authorization mode and NodeRestriction admission
// plugin: together they confine a kubelet (user system:node:NAME in group system:nodes) to its
// own Node, its own Lease and the pods bound to it, and let it read only the Secrets,
// ConfigMaps, PersistentVolumeClaims and ServiceAccount tokens those pods use.
package nodeauthz
