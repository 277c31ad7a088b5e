package kubecontrollermanager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// Harness is the controller conformance harness of kube-controller-manager: for every spec
// a fresh clusterkit API server on a memory store and a kube-controller-manager against it,
// in real time (no VirtualTime), stoppable and restartable (ControllerRestart), with the
// suite's podStatusDriver standing in for scheduler and kubelets. The API server's built-in
// namespace cleanup is off: kube-controller-manager's namespace controller empties deleted
// namespaces, as in Kubernetes. The server enforces ValidatingAdmissionPolicies, as
// kube-apiserver does (the specs of refused writes use them).
func Harness(o Options) conformance.ControllerHarness {
	return conformance.ControllerHarness{
		Name:            "kube-controller-manager " + Version,
		Restartable:     true,
		NodeGracePeriod: o.NodeMonitorGracePeriod,
		ClusterCIDR:     o.ClusterCIDR,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.ControllersUnderTest, error) {
			cfg, err := harness.ConfiguredPolicyCluster(harness.MemoryStore(), func(sc *apiserver.Config) {
				sc.DisableNamespaceCleanup = true
			})(ctx, c)
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
