package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/controllers"
	"github.com/clusterkit/clusterkit/reference/controllers/endpointslice"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
)

// ProxyLabRuntime is what runs a proxy lab's pods.
type ProxyLabRuntime string

// The runtimes of a proxy lab.
const (
	// ProxyLabContainerd runs pods as real containers on a private containerd whose CNI bridge
	// lives in the lab's node namespace (the real path).
	ProxyLabContainerd ProxyLabRuntime = "containerd"
	// ProxyLabSimulated runs pods on the simulated runtime, each with a real network namespace
	// on the lab's bridge: simulated processes, real network (faster, needs no containerd).
	ProxyLabSimulated ProxyLabRuntime = "simulated"
)

// ProxyLabNode is the name of a proxy lab's node.
const ProxyLabNode = "proxy-lab-node"

// proxyLabPodSubnet is the containerd bridge's subnet inside the lab's node namespace.
const proxyLabPodSubnet = "10.241.0.0/24"

// ProxyLabUnavailable says why a proxy lab on rt cannot be built on this machine, or "".
func ProxyLabUnavailable(rt ProxyLabRuntime) string {
	if why := netlab.Supported(); why != "" {
		return why
	}
	if rt == ProxyLabContainerd {
		if err := containerd.Available(); err != nil {
			return "real containers unavailable: " + err.Error()
		}
	}
	return ""
}

// ProxyLab is one node for the proxy specs, built on first use and shared by every spec and
// every harness made from it: a network namespace (the node) holding the pods' bridge, a
// kubelet whose pods live in network namespaces on that bridge (containerd or simulated) and
// whose probes dial into the node namespace, and an in-process reference API server with the
// EndpointSlice controller. Each spec starts the proxy under test on the node and removes its
// rules when it ends. Close tears the lab down; scripts/cleanup-netlabs.sh removes what a
// killed run leaves (namespaces named ckp-*).
type ProxyLab struct {
	runtime ProxyLabRuntime
	store   conformance.StoreHarness

	mu      sync.Mutex
	started bool
	err     error
	cfg     *rest.Config
	nsPath  string
	nodeIPs []netip.Addr
	closers conformance.Cleanups
	// proxyBusy: a spec's proxy is running (one at a time: they share the node's rules).
	proxyBusy bool
}

// NewProxyLab returns a lab on runtime rt whose API server stores in a store from store. It
// builds nothing until a spec needs it.
func NewProxyLab(rt ProxyLabRuntime, store conformance.StoreHarness) *ProxyLab {
	return &ProxyLab{runtime: rt, store: store}
}

// Close stops everything the lab started.
func (l *ProxyLab) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers.Run()
	l.started, l.err = false, nil
}

// Harness returns a proxy harness that runs, for every spec, the reference proxy with the
// dataplane from newDP on this lab's node.
func (l *ProxyLab) Harness(name string, newDP ProxyDataplaneFactory) conformance.ProxyHarness {
	return conformance.ProxyHarness{
		Name:       fmt.Sprintf("%s (pods on %s)", name, l.runtime),
		CanRestart: true,
		Node: func(ctx context.Context, c conformance.Cleaner) (*conformance.ProxyNode, error) {
			if err := l.start(ctx); err != nil {
				return nil, err
			}
			l.mu.Lock()
			if l.proxyBusy {
				l.mu.Unlock()
				return nil, errors.New("proxy lab: another spec's proxy is still running on the node (specs on one lab run one at a time)")
			}
			l.proxyBusy = true
			l.mu.Unlock()
			run := &proxyRun{cfg: l.cfg, nsPath: l.nsPath, nodeIPs: l.nodeIPs, newDP: newDP}
			c.Cleanup(func() {
				run.cleanup()
				l.mu.Lock()
				l.proxyBusy = false
				l.mu.Unlock()
			})
			if err := run.start(); err != nil {
				return nil, err
			}
			return &conformance.ProxyNode{
				Config:     l.cfg,
				Node:       ProxyLabNode,
				NodeIPs:    slices.Clone(l.nodeIPs),
				StopProxy:  func(context.Context) error { run.stop(true); return nil },
				StartProxy: func(context.Context) error { return run.start() },
			}, nil
		},
	}
}

// start builds the lab once; a failure is remembered and returned to every later spec.
func (l *ProxyLab) start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return l.err
	}
	l.started = true
	if why := ProxyLabUnavailable(l.runtime); why != "" {
		l.err = fmt.Errorf("proxy lab on %s: %s", l.runtime, why)
		return l.err
	}
	if err := l.build(ctx); err != nil {
		l.closers.Run()
		l.err = fmt.Errorf("building the proxy lab on %s: %w", l.runtime, err)
	}
	return l.err
}

func (l *ProxyLab) build(ctx context.Context) error {
	lab, err := netlab.New(ctx, "", "")
	if err != nil {
		return err
	}
	l.closers.Cleanup(func() { _ = lab.Close() })
	l.nsPath = lab.NSPath()

	cfg, _, err := startAPIServer(ctx, &l.closers, l.store, nil)
	if err != nil {
		return err
	}
	l.cfg = cfg
	cm, err := controllers.New(controllers.Config{RESTConfig: cfg, Controllers: []string{endpointslice.Name}})
	if err != nil {
		return err
	}
	cmCtx, stopCM := context.WithCancel(context.Background())
	cmDone := make(chan struct{})
	go func() { defer close(cmDone); _ = cm.Run(cmCtx) }()
	l.closers.Cleanup(func() { stopCM(); <-cmDone })

	node := localnode.Config{Name: ProxyLabNode, Kubelet: kubelet.Config{PodDialer: func(ctx context.Context, network, address string) (net.Conn, error) {
		// The kubelet's probes reach pods on the lab's bridge from inside the node namespace.
		return netlab.DialInNS(ctx, l.nsPath, 0, network, address)
	}}}
	switch l.runtime {
	case ProxyLabContainerd:
		endpoint, gateway, err := l.startContainerd(ctx)
		if err != nil {
			return err
		}
		node.Runtime = endpoint
		l.nodeIPs = []netip.Addr{gateway}
	case ProxyLabSimulated:
		node.Sim = simruntime.Options{PodNetwork: lab.PodNetwork()}
		l.nodeIPs = []netip.Addr{lab.Gateway}
	default:
		return fmt.Errorf("unknown proxy lab runtime %q", l.runtime)
	}
	n, err := localnode.Start(ctx, cfg, node)
	if err != nil {
		return fmt.Errorf("starting the node's kubelet: %w", err)
	}
	l.closers.Cleanup(n.Close)
	return nil
}

// startContainerd starts a private containerd with its bridge in the lab's node namespace,
// pods routing the Service range to it, and the test images imported. It returns the CRI
// endpoint and the bridge's address (the node address pods reach).
func (l *ProxyLab) startContainerd(ctx context.Context) (string, netip.Addr, error) {
	imgs, err := images.BuildAll(ctx, images.BuildOptions{})
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("building the test images: %w", err)
	}
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, imgs); err != nil {
		return "", netip.Addr{}, err
	}
	dir, err := os.MkdirTemp("", "ckpl")
	if err != nil {
		return "", netip.Addr{}, err
	}
	l.closers.Cleanup(func() { _ = os.RemoveAll(dir) })
	cc := containerd.Config{Dir: dir, Bridge: "ckpl0", Subnet: proxyLabPodSubnet, Routes: []string{apiserver.DefaultServiceCIDR},
		NetNS: l.nsPath, LeaveIPForward: true}
	inst, err := containerd.Start(ctx, cc)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("starting containerd: %w", err)
	}
	l.closers.Cleanup(func() { _ = inst.Stop(context.Background()) })
	if _, err := inst.Import(ctx, &archive); err != nil {
		return "", netip.Addr{}, fmt.Errorf("importing the test images: %w", err)
	}
	return inst.Endpoint(), cc.Gateway(), nil
}
