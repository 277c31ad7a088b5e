package kindlab_test

import (
	"context"
	"testing"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	"github.com/clusterkit/clusterkit/kindlab"
)

// checkTour runs the seed's hands-on tour with kubectl against a lab: the control plane as static
// pods on the tainted control-plane node, kube-proxy on every node and CoreDNS as add-ons, real
// containerd on every node.
func checkTour(ctx context.Context, t *testing.T, lab *kindlab.Lab) {
	c := kubectltest.TourCluster{Kubeconfig: lab.Kubeconfig, Runtime: "containerd://",
		AddOns: []string{"coredns-"}, NodeAgents: []string{"kube-proxy-"}}
	for _, n := range lab.Nodes {
		c.Nodes = append(c.Nodes, kubectltest.TourNode{Name: n.Name, IP: n.IP, ControlPlane: n.ControlPlane})
	}
	kubectltest.Tour(ctx, t, c)
}
