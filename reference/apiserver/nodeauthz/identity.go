package nodeauthz

import (
	"strings"

	"k8s.io/apiserver/pkg/authentication/user"
)

// Kubelet identities, as Kubernetes names them.
const (
	// NodesGroup is the group every kubelet's credential carries.
	NodesGroup = "system:nodes"
	// NodeUserPrefix starts a kubelet's user name: system:node:NAME.
	NodeUserPrefix = "system:node:"
)

// NodeName returns the node a user acts for: the NAME of system:node:NAME when the user is
// also in system:nodes. ok is false for everyone else (and for a node user without a name).
func NodeName(u user.Info) (name string, ok bool) {
	if u == nil {
		return "", false
	}
	name, found := strings.CutPrefix(u.GetName(), NodeUserPrefix)
	if !found {
		return "", false
	}
	for _, g := range u.GetGroups() {
		if g == NodesGroup {
			return name, name != ""
		}
	}
	return "", false
}
