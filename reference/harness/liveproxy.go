package harness

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/conformance"
)

// LiveProxy runs the proxy specs against the service proxy of a running cluster reached
// through a kubeconfig file (empty: $KUBECONFIG or ~/.kube/config), e.g. `clusterkit up
// --runtime containerd` or a kind cluster. The specs put their pods on node (empty: the first
// Ready node) and reach NodePorts at nodeIP (invalid: the node's first InternalIP that is not
// a loopback address). The proxy cannot be restarted from here, so the catch-up spec is
// skipped with that reason.
func LiveProxy(kubeconfig, node string, nodeIP netip.Addr) conformance.ProxyHarness {
	return conformance.ProxyHarness{
		Name: "live cluster",
		Node: func(ctx context.Context, c conformance.Cleaner) (*conformance.ProxyNode, error) {
			cfg, err := kubeconfigREST(kubeconfig)
			if err != nil {
				return nil, err
			}
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return nil, err
			}
			n, err := liveProxyNode(ctx, client, node)
			if err != nil {
				return nil, err
			}
			ip := nodeIP
			if !ip.IsValid() {
				for _, a := range n.Status.Addresses {
					if a.Type != corev1.NodeInternalIP {
						continue
					}
					if addr, err := netip.ParseAddr(a.Address); err == nil && !addr.IsLoopback() {
						ip = addr
						break
					}
				}
			}
			if !ip.IsValid() {
				return nil, fmt.Errorf("node %s reports no InternalIP its pods can reach (only loopback): pass the node's address with --proxy-node-ip", n.Name)
			}
			return &conformance.ProxyNode{Config: cfg, Node: n.Name, NodeIPs: []netip.Addr{ip}}, nil
		},
	}
}

// liveProxyNode is the named node, or the first Ready one by name.
func liveProxyNode(ctx context.Context, client kubernetes.Interface, name string) (*corev1.Node, error) {
	if name != "" {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("the node for the proxy specs: %w", err)
		}
		return n, nil
	}
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the nodes: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	for i := range list.Items {
		for _, c := range list.Items[i].Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return &list.Items[i], nil
			}
		}
	}
	return nil, fmt.Errorf("no Ready node among %d: start the cluster's nodes, or name one with --proxy-node", len(list.Items))
}
