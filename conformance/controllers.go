package conformance

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Capabilities of controller harnesses.
const (
	// VirtualTime: the harness steps the controller manager's clock, so
	// specs of grace periods (50 s, 300 s) run in moments.
	VirtualTime Capability = "VirtualTime"
	// ControllerRestart: the harness can stop the controller manager and
	// start a new one on the same API server.
	ControllerRestart Capability = "ControllerRestart"
	// SimulatedNodes: the suite's podStatusDriver stands in for scheduler
	// and kubelets (ControllerHarness.Nodes is nil), so a spec can hold pods
	// unscheduled.
	SimulatedNodes Capability = "SimulatedNodes"
	// NodeDeletion: the node lifecycle controller under test deletes nodes whose heartbeats
	// stopped, after ControllerHarness.NodeDeletionGrace (a clusterkit extension: Kubernetes
	// without a cloud provider never deletes a Node).
	NodeDeletion Capability = "NodeDeletion"
)

// ControllersUnderTest is a controller manager running against an API
// server, as a spec sees it.
type ControllersUnderTest struct {
	// Config reaches the API server the manager works through.
	Config *rest.Config
	// Advance steps the manager's virtual clock by d (VirtualTime); nil when
	// the manager runs in real time.
	Advance func(d time.Duration)
	// Now reads the manager's clock (time.Now when nil). Timestamps the
	// suite writes on behalf of nodes (Lease renewTime, pod readiness) come
	// from it.
	Now func() time.Time
	// Stop stops the controller manager, leaving the API server running;
	// Start starts a new manager against it (ControllerRestart).
	Stop  func(ctx context.Context) error
	Start func(ctx context.Context) error
}

// NodeAgents are node agents (kubelets) a harness runs for the specs; the
// specs stop one to simulate a node failure.
type NodeAgents interface {
	// Kill stops node's agent abruptly: no more heartbeats or pod updates.
	Kill(ctx context.Context, node string) error
	// Revive starts it again: heartbeats resume and the node reports Ready.
	Revive(ctx context.Context, node string) error
}

// ControllerHarness plugs a controller manager (any mix of controllers) into
// the controller specs. The specs talk only to the API server.
//
// Pods need nodes to run on. Unless Nodes is set, the suite stands in for
// the scheduler and the kubelets with a podStatusDriver: it creates Node
// objects and their Leases, binds unscheduled pods of the spec's namespace to
// untainted live nodes, reports bound pods Running and Ready with a pod IP
// through the status subresource (and then Succeeded or Failed when every
// container runs `sh -c "exit N"`, as the Job specs' pods do), finishes graceful deletions as a kubelet
// would, and renews the live nodes' Leases. It is an observer-side stand-in:
// it never writes what the controllers own.
type ControllerHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Connect returns a running controller manager and its API server; each
	// spec calls it once and works in a namespace of its own.
	Connect func(ctx context.Context, c Cleaner) (ControllersUnderTest, error)
	// VirtualTime declares that Advance is set (the VirtualTime capability).
	VirtualTime bool
	// Restartable declares that Stop and Start are set (ControllerRestart).
	Restartable bool
	// NodeGracePeriod and PodEvictionTimeout are what the node lifecycle
	// controller under test is configured with (defaults 50 s and 300 s, as
	// in Kubernetes).
	NodeGracePeriod    time.Duration
	PodEvictionTimeout time.Duration
	// NodeDeletionGrace declares NodeDeletion: the node lifecycle controller deletes a node
	// once its Ready condition has been Unknown (no heartbeat) for this long. 0: it never
	// deletes one, as Kubernetes' without a cloud provider, and the deletion specs are
	// skipped. It must outlast the other specs' dead nodes (the eviction spec keeps one
	// Unknown for about 340 s).
	NodeDeletionGrace time.Duration
	// Nodes, when set, starts real node agents (kubelets on a simulated
	// runtime) for the named nodes, which must then register the Nodes,
	// renew their Leases and run the pods bound to them; a scheduler must
	// then run too. Nil: the podStatusDriver stands in.
	Nodes func(ctx context.Context, c Cleaner, cfg *rest.Config, names []string) (NodeAgents, error)
	// Patience bounds each wait for convergence; 0 means one minute.
	Patience time.Duration
	// Focus, when set, runs only the specs with these IDs (the others do
	// not run).
	Focus []string
	// SpecTimeout bounds each spec; 0 means two minutes.
	SpecTimeout time.Duration
	// ClusterCIDR, when set, is the range the node IPAM controller under test allocates pod
	// CIDRs from (kube-controller-manager's --cluster-cidr); the specs then check that every
	// allocated CIDR lies inside it.
	ClusterCIDR string
}

// ctrlEnv is what a controller spec works with.
type ctrlEnv struct {
	h      ControllerHarness
	cut    ControllersUnderTest
	client kubernetes.Interface
	c      Cleaner
	ns     string
	nodes  []string
	agents NodeAgents
	// driver is the stand-in for scheduler and kubelets (nil with Nodes).
	driver *podStatusDriver
}

// ctrlNodeCount is how many nodes each spec gets.
const ctrlNodeCount = 3

func (h ControllerHarness) suite() suite[*ctrlEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	name := h.Name
	if name == "" {
		name = "controller-manager"
	}
	specs := allControllerSpecs()
	if len(h.Focus) > 0 {
		focus := map[string]bool{}
		for _, id := range h.Focus {
			focus[id] = true
		}
		kept := specs[:0]
		for _, sp := range specs {
			if focus[sp.ID] {
				kept = append(kept, sp)
			}
		}
		specs = kept
	}
	return suite[*ctrlEnv]{
		component: "controllers",
		impl:      name,
		specs:     specs,
		timeout:   timeout,
		missing: func(c Capability) string {
			switch c {
			case VirtualTime:
				if !h.VirtualTime {
					return fmt.Sprintf("controller manager %q runs in real time (ControllerHarness.VirtualTime is false); the spec waits out timers (node grace periods, progress deadlines, minReadySeconds) that would take minutes in real time", name)
				}
			case SimulatedNodes:
				if h.Nodes != nil {
					return fmt.Sprintf("controller manager %q runs with real node agents (ControllerHarness.Nodes), which cannot hold pods unscheduled on demand", name)
				}
			case NodeDeletion:
				if h.NodeDeletionGrace <= 0 {
					return fmt.Sprintf("controller manager %q declares no deletion of dead nodes (ControllerHarness.NodeDeletionGrace is 0; Kubernetes without a cloud provider keeps them)", name)
				}
			case ControllerRestart:
				if !h.Restartable {
					return fmt.Sprintf("controller manager %q cannot be stopped and restarted by the harness (ControllerHarness.Restartable is false)", name)
				}
			default:
				return fmt.Sprintf("the controller harness has no capability %s", c)
			}
			return ""
		},
		setup: func(ctx context.Context, c Cleaner) (*ctrlEnv, error) {
			if h.Connect == nil {
				return nil, fmt.Errorf("ControllerHarness.Connect is nil")
			}
			cut, err := h.Connect(ctx, c)
			if err != nil {
				return nil, err
			}
			if cut.Now == nil {
				cut.Now = time.Now
			}
			client, err := specClient(cut.Config)
			if err != nil {
				return nil, err
			}
			ns, err := specNamespace(ctx, client, c, "ctrl")
			if err != nil {
				return nil, err
			}
			e := &ctrlEnv{h: h, cut: cut, client: client, c: c, ns: ns}
			for i := range ctrlNodeCount {
				e.nodes = append(e.nodes, fmt.Sprintf("%s-node-%d", ns, i))
			}
			if h.Nodes != nil {
				e.agents, err = h.Nodes(ctx, c, cut.Config, e.nodes)
				if err != nil {
					return nil, fmt.Errorf("starting node agents: %w", err)
				}
				return e, nil
			}
			e.driver, err = startPodStatusDriver(ctx, c, client, ns, e.nodes, cut.Now)
			if err != nil {
				return nil, fmt.Errorf("starting the pod status driver: %w", err)
			}
			e.agents = e.driver
			return e, nil
		},
	}
}

// RunControllers runs every controller spec against the harness as subtests
// of t.
func RunControllers(t *testing.T, h ControllerHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeControllers registers the controller specs in the caller's Ginkgo
// suite, under the label "controllers".
func DescribeControllers(h ControllerHarness) bool {
	return h.suite().describe()
}

// CheckControllers runs every controller spec and returns the results
// without failing.
func CheckControllers(ctx context.Context, h ControllerHarness) Results {
	return h.suite().check(ctx)
}

func (e *ctrlEnv) graceAndEviction() (time.Duration, time.Duration) {
	grace, evict := e.h.NodeGracePeriod, e.h.PodEvictionTimeout
	if grace == 0 {
		grace = 50 * time.Second
	}
	if evict == 0 {
		evict = 300 * time.Second
	}
	return grace, evict
}

// allControllerSpecs is every controller spec: the suite's and the catalogue's one list.
func allControllerSpecs() []spec[*ctrlEnv] {
	return slices.Concat(controllerSpecs(), namespaceControllerSpecs(), endpointsControllerSpecs(), controllerEventSpecs(),
		daemonSetSpecs(), jobSpecs(), nodeControllerSpecs(), controllerRolloutSpecs(), minReadySpecs(), recreateSpecs(), refusedWriteSpecs())
}
