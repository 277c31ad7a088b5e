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

// ProxyNode is one node with the proxy under test running on it, and the means to put
// workloads next to it. At the host-runtime level the backends and the client are processes in
// network namespaces on the node's bridge, so the specs observe real traffic through real
// kernel rules (or whatever the dataplane is).
type ProxyNode struct {
	// Config reaches the API server the proxy follows. The specs create Services without
	// selectors and write their EndpointSlices themselves, so no EndpointSlice controller is
	// needed (and one that runs does not interfere).
	Config *rest.Config
	// NodeIPs are the node's addresses, where NodePorts must answer.
	NodeIPs []netip.Addr
	// Backend starts a backend "pod" at a fresh address that answers GET / with hostname on
	// port (the test image's serve-hostname), and returns its address. It keeps running until
	// the spec ends, whatever the EndpointSlices say.
	Backend func(ctx context.Context, hostname string, port int) (netip.Addr, error)
	// Get sends GET http://addr/ from a client pod on a new connection and returns the body.
	Get func(ctx context.Context, addr netip.AddrPort) (string, error)
	// Connect opens (and closes) a TCP connection from the client pod and returns the dial
	// error unchanged, so a spec can tell "refused" from a timeout.
	Connect func(ctx context.Context, addr netip.AddrPort) error
	// StopProxy stops the proxy as a crash would (rules left in place); StartProxy starts a
	// new one. Both nil when the harness cannot (the ProxyRestart capability).
	StopProxy, StartProxy func(ctx context.Context) error
}

// ProxyHarness plugs a service proxy into the proxy specs.
type ProxyHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Node returns a fresh node with the proxy under test running, for one spec.
	Node func(ctx context.Context, c Cleaner) (*ProxyNode, error)
	// CanRestart declares that every ProxyNode has StopProxy and StartProxy.
	CanRestart bool
	// Focus, when not empty, runs only the specs with these IDs.
	Focus []string
	// SpecTimeout bounds each spec; 0 means one minute.
	SpecTimeout time.Duration
	// ConvergeTimeout is how long a spec waits for the proxy to apply a change; 0 means 30
	// seconds.
	ConvergeTimeout time.Duration
}

// proxyEnv is what a proxy spec works with.
type proxyEnv struct {
	node   *ProxyNode
	client kubernetes.Interface
	ns     string
	// converge bounds every wait for the proxy to apply a change.
	converge time.Duration
}

func (h ProxyHarness) suite() suite[*proxyEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = time.Minute
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
			converge := h.ConvergeTimeout
			if converge == 0 {
				converge = 30 * time.Second
			}
			return &proxyEnv{node: node, client: client, ns: ns, converge: converge}, nil
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
