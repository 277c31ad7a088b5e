package kubecontrollermanager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/defaultclass"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// Harness is the controller conformance harness of kube-controller-manager: for every spec
// a fresh clusterkit API server on a memory store and a kube-controller-manager against it,
// in real time (no VirtualTime), stoppable and restartable (ControllerRestart), with the
// suite's podStatusDriver standing in for scheduler and kubelets. The API server's built-in
// namespace cleanup is off: kube-controller-manager's namespace controller empties deleted
// namespaces, as in Kubernetes.
func Harness(o Options) conformance.ControllerHarness {
	return conformance.ControllerHarness{
		Name:            "kube-controller-manager " + Version,
		Restartable:     true,
		NodeGracePeriod: o.NodeMonitorGracePeriod,
		ClusterCIDR:     o.ClusterCIDR,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.ControllersUnderTest, error) {
			cfg, err := serveAPI(c)
			if err != nil {
				return conformance.ControllersUnderTest{}, err
			}
			m := &manager{cfg: cfg, opts: o}
			if err := m.start(ctx); err != nil {
				return conformance.ControllersUnderTest{}, err
			}
			c.Cleanup(func() {
				if err := m.stop(); err != nil {
					fmt.Fprintln(os.Stderr, err)
				}
			})
			return conformance.ControllersUnderTest{
				Config: cfg,
				Stop:   func(context.Context) error { return m.stop() },
				Start:  m.start,
			}, nil
		},
	}
}

// manager is one spec's kube-controller-manager, stopped and started again on request.
type manager struct {
	cfg  *rest.Config
	opts Options

	mu     sync.Mutex
	stopFn func() error
}

func (m *manager) start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopFn != nil {
		return errors.New("kube-controller-manager is already running")
	}
	stop, err := Start(ctx, rest.CopyConfig(m.cfg), m.opts)
	if err != nil {
		return err
	}
	m.stopFn = stop
	return nil
}

func (m *manager) stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopFn == nil {
		return nil
	}
	err := m.stopFn()
	m.stopFn = nil
	return err
}

// serveAPI serves a fresh clusterkit API server on a memory store on a loopback port until
// the spec's cleanup, with the admission plugins of reference/harness's clusters and without
// the server's own namespace cleanup.
func serveAPI(c conformance.Cleaner) (*rest.Config, error) {
	store := memory.New()
	c.Cleanup(func() { _ = store.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tcp := ln.Addr().(*net.TCPAddr)
	addr, _ := netip.AddrFromSlice(tcp.IP)
	srv, err := apiserver.New(apiserver.Config{
		Store: store, AdvertiseAddress: addr.Unmap(), AdvertisePort: tcp.Port,
		Admission:               admission.NewChainHandler(defaultclass.New(), priority.New()),
		DisableNamespaceCleanup: true,
	})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, ln) }()
	c.Cleanup(func() {
		stopServe()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver for a spec stopped with: %v\n", err)
		}
	})
	return &rest.Config{Host: "http://" + ln.Addr().String(), QPS: -1}, nil
}
