package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ProxyRestart: the harness can stop the proxy under test as a crash would (its rules left in
// place) and start a new one, so the catch-up spec can run.
const ProxyRestart Capability = "ProxyRestart"

// ProxyNode is a cluster with one node whose service proxy is under test. The specs work the
// way a user does: they create Pods of the test image bound to the node (spec.nodeName, no
// scheduler needed) with HTTP readiness probes, Services that select them, and a client Pod
// that connects to the Services from its own network namespace (through pods/exec). So the
// cluster must run, besides the proxy under test: an API server that allocates ClusterIPs and
// NodePorts, an EndpointSlice controller, and on the node a kubelet whose runtime gives every
// pod a network namespace of its own, from which the Service range is routed to the node.
type ProxyNode struct {
	// Config reaches the cluster's API server.
	Config *rest.Config
	// Node is the name of the node the proxy under test runs on.
	Node string
	// NodeIPs are the node's addresses, where NodePorts must answer; the node's pods must be
	// able to reach the first.
	NodeIPs []netip.Addr
	// StopProxy stops the proxy as a crash would (its rules left in place); StartProxy starts
	// a new one. Both nil when the harness cannot (the ProxyRestart capability).
	StopProxy, StartProxy func(ctx context.Context) error
}

// ProxyHarness plugs a service proxy into the proxy specs.
type ProxyHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Node returns the node with the proxy under test running, for one spec. Specs work in
	// namespaces of their own, so one cluster may serve every spec; the proxy may be fresh.
	Node func(ctx context.Context, c Cleaner) (*ProxyNode, error)
	// CanRestart declares that every ProxyNode has StopProxy and StartProxy.
	CanRestart bool
	// TestImage is the test image's reference (default DefaultTestImage); it must be present
	// on the node.
	TestImage string
	// Focus, when not empty, runs only the specs with these IDs.
	Focus []string
	// SpecTimeout bounds each spec; 0 means three minutes.
	SpecTimeout time.Duration
	// ConvergeTimeout is how long a spec waits for the proxy to apply a change; 0 means 30
	// seconds. Waiting for pods to start or change readiness is not counted in it.
	ConvergeTimeout time.Duration
	// PodTimeout is how long a spec waits for its pods to start or to change readiness; 0
	// means two minutes.
	PodTimeout time.Duration
}

// proxyEnv is what a proxy spec works with.
type proxyEnv struct {
	node   *ProxyNode
	client kubernetes.Interface
	ns     string
	image  string
	// converge bounds every wait for the proxy to apply a change; pods bounds every wait for
	// the kubelet.
	converge, pods time.Duration
}

func (h ProxyHarness) suite() suite[*proxyEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	specs := proxySpecs()
	if len(h.Focus) > 0 {
		specs = slices.DeleteFunc(specs, func(s spec[*proxyEnv]) bool { return !slices.Contains(h.Focus, s.ID) })
	}
	return suite[*proxyEnv]{
		component: "proxy",
		impl:      h.Name,
		specs:     specs,
		timeout:   timeout,
		missing: func(c Capability) string {
			if c == ProxyRestart {
				if h.CanRestart {
					return ""
				}
				return fmt.Sprintf("proxy %q cannot be restarted by the harness (ProxyHarness.CanRestart is false)", h.Name)
			}
			return fmt.Sprintf("the proxy harness has no capability %s", c)
		},
		setup: func(ctx context.Context, c Cleaner) (*proxyEnv, error) {
			if h.Node == nil {
				return nil, fmt.Errorf("ProxyHarness.Node is nil")
			}
			node, err := h.Node(ctx, c)
			if err != nil {
				return nil, err
			}
			client, err := specClient(node.Config)
			if err != nil {
				return nil, err
			}
			ns, err := specNamespace(ctx, client, c, "proxy")
			if err != nil {
				return nil, err
			}
			e := &proxyEnv{node: node, client: client, ns: ns, image: h.TestImage, converge: h.ConvergeTimeout, pods: h.PodTimeout}
			if e.image == "" {
				e.image = DefaultTestImage
			}
			if e.converge == 0 {
				e.converge = 30 * time.Second
			}
			if e.pods == 0 {
				e.pods = 2 * time.Minute
			}
			if err := e.createClient(ctx); err != nil {
				return nil, err
			}
			return e, nil
		},
	}
}

// RunProxy runs every proxy spec against the harness as subtests of t.
func RunProxy(t *testing.T, h ProxyHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeProxy registers the proxy specs in the caller's Ginkgo suite, under the label
// "proxy".
func DescribeProxy(h ProxyHarness) bool {
	return h.suite().describe()
}

// CheckProxy runs every proxy spec and returns the results without failing.
func CheckProxy(ctx context.Context, h ProxyHarness) Results {
	return h.suite().check(ctx)
}
