package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Capabilities of kubelet harnesses.
const (
	// KubeletRestart: the harness can stop a node's kubelet and start it
	// again while the node's containers keep running.
	KubeletRestart Capability = "KubeletRestart"
	// StaticPods: the harness exposes the kubelet's static pod directory.
	StaticPods Capability = "StaticPods"
	// ClusterDNS: the kubelet is configured with a cluster DNS server and domain (its
	// clusterDNS and clusterDomain) that the harness names.
	ClusterDNS Capability = "ClusterDNS"
)

// RuntimeLevel is the fidelity of the container runtime under the kubelet.
type RuntimeLevel string

// The runtime levels.
const (
	// SimulatedRuntime: clusterkit's simulated CRI runtime (containers act
	// out the test image's commands in-process).
	SimulatedRuntime RuntimeLevel = "simulated"
	// ContainerdRuntime: real containers on containerd.
	ContainerdRuntime RuntimeLevel = "containerd"
)

// DefaultTestImage is clusterkit's test image (cri/testimage): its program
// /ckimage runs serve-hostname, liveness, exit, sleep, logs, and the exec
// commands true, false, echo, healthz.
const DefaultTestImage = "clusterkit.local/ckimage:v1"

// KubeletUnderTest is a cluster with a node whose kubelet the specs use.
type KubeletUnderTest struct {
	// Config reaches the cluster's API server.
	Config *rest.Config
	// Node is the name of a node with a running kubelet. Specs bind pods to
	// it themselves (spec.nodeName): no scheduler is needed.
	Node string
	// StopKubelet and StartKubelet stop the node's kubelet (its containers
	// keep running) and start it again; nil without KubeletRestart.
	StopKubelet  func(ctx context.Context) error
	StartKubelet func(ctx context.Context) error
	// StaticPodDir is the kubelet's static pod manifest directory, on this
	// machine; "" without StaticPods.
	StaticPodDir string
}

// KubeletHarness plugs a kubelet into the kubelet specs. The specs only use
// the Kubernetes API (pods, pods/log, pods/exec, nodes, leases), so they run
// against clusterkit's kubelet or any other that joins the cluster.
type KubeletHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Runtime is the runtime level the kubelet runs on.
	Runtime RuntimeLevel
	// Connect returns the cluster a spec runs against; each spec works in
	// a namespace of its own.
	Connect func(ctx context.Context, c Cleaner) (KubeletUnderTest, error)
	// BackoffBase is the kubelet's crash-loop back-off base (its first
	// restart delay); 0 means Kubernetes' 10 s. The back-off specs scale
	// their expectations and deadlines with it.
	BackoffBase time.Duration
	// CanRestartKubelet declares KubeletRestart.
	CanRestartKubelet bool
	// HasStaticPods declares StaticPods.
	HasStaticPods bool
	// TestImage is the test image's reference (default DefaultTestImage);
	// it must be present on the node.
	TestImage string
	// HasMetricsAPI declares MetricsAPI: the cluster serves metrics.k8s.io/v1beta1 from its
	// kubelets (the reference API server does; a cluster with metrics-server too).
	HasMetricsAPI bool
	// ClusterDNS and ClusterDomain are the kubelet's clusterDNS (one address) and
	// clusterDomain; "" declares none (the DNS policy specs that need them are skipped).
	ClusterDNS, ClusterDomain string
	// SpecTimeout bounds each spec; 0 means two minutes plus 12 back-off
	// bases.
	SpecTimeout time.Duration
	// ParallelSpecs declares that the specs share nothing: Connect makes a fresh cluster and node
	// for every spec. RunX then runs them as parallel subtests (at most go test's -parallel
	// at once); CheckX and the Ginkgo entry point still run them one after the other.
	ParallelSpecs bool
}

// kubeletEnv is what a kubelet spec works with.
type kubeletEnv struct {
	h      KubeletHarness
	k      KubeletUnderTest
	client kubernetes.Interface
	ns     string
	image  string
	base   time.Duration
}

func (h KubeletHarness) suite() suite[*kubeletEnv] {
	base := h.BackoffBase
	if base <= 0 {
		base = 10 * time.Second
	}
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = 2*time.Minute + 12*base
	}
	name := h.Name
	if name == "" {
		name = "kubelet"
	}
	if h.Runtime != "" {
		name += " on " + string(h.Runtime)
	}
	image := h.TestImage
	if image == "" {
		image = DefaultTestImage
	}
	return suite[*kubeletEnv]{
		component: "kubelet",
		impl:      name,
		specs:     kubeletSpecs(),
		timeout:   timeout,
		parallel:  h.ParallelSpecs,
		missing: func(c Capability) string {
			switch c {
			case KubeletRestart:
				if !h.CanRestartKubelet {
					return fmt.Sprintf("kubelet harness %q cannot stop and start the kubelet (KubeletHarness.CanRestartKubelet is false)", name)
				}
			case ClusterDNS:
				if h.ClusterDNS == "" || h.ClusterDomain == "" {
					return fmt.Sprintf("kubelet harness %q names no cluster DNS (KubeletHarness.ClusterDNS and ClusterDomain are empty)", name)
				}
			case MetricsAPI:
				if !h.HasMetricsAPI {
					return fmt.Sprintf("kubelet harness %q declares no metrics API (KubeletHarness.HasMetricsAPI is false)", name)
				}
			case StaticPods:
				if !h.HasStaticPods {
					return fmt.Sprintf("kubelet harness %q exposes no static pod directory (KubeletHarness.HasStaticPods is false)", name)
				}
			default:
				return fmt.Sprintf("the kubelet harness has no capability %s", c)
			}
			return ""
		},
		setup: func(ctx context.Context, c Cleaner) (*kubeletEnv, error) {
			if h.Connect == nil {
				return nil, fmt.Errorf("KubeletHarness.Connect is nil")
			}
			k, err := h.Connect(ctx, c)
			if err != nil {
				return nil, err
			}
			if k.Node == "" {
				return nil, fmt.Errorf("the kubelet harness returned no node")
			}
			client, err := specClient(k.Config)
			if err != nil {
				return nil, err
			}
			ns, err := specNamespace(ctx, client, c, "kubelet")
			if err != nil {
				return nil, err
			}
			// Pods first, with no grace: the namespace deletion (registered
			// above, so run after this) then has nothing to wait for.
			c.Cleanup(func() {
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				zero := int64(0)
				_ = client.CoreV1().Pods(ns).DeleteCollection(cctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
			})
			return &kubeletEnv{h: h, k: k, client: client, ns: ns, image: image, base: base}, nil
		},
	}
}

// RunKubelet runs every kubelet spec against the harness as subtests of t.
func RunKubelet(t *testing.T, h KubeletHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeKubelet registers the kubelet specs in the caller's Ginkgo suite,
// under the label "kubelet".
func DescribeKubelet(h KubeletHarness) bool {
	return h.suite().describe()
}

// CheckKubelet runs every kubelet spec and returns the results without
// failing.
func CheckKubelet(ctx context.Context, h KubeletHarness) Results {
	return h.suite().check(ctx)
}

// CheckKubeletSpecs runs only the kubelet specs whose IDs are listed.
func CheckKubeletSpecs(ctx context.Context, h KubeletHarness, ids ...string) Results {
	return h.suite().only(ids).check(ctx)
}
