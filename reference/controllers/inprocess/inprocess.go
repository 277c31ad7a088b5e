package inprocess

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/dynamicadmission"
	"github.com/clusterkit/clusterkit/reference/controllers"
	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// Options choose the mix of controllers.
type Options struct {
	// Name of the mix, for reports (default "reference controllers").
	Name string
	// Controllers selects controllers like --controllers (default "*").
	Controllers []string
	// Replace swaps controllers for users' (or known-bad) ones.
	Replace map[string]runner.Factory
	// Manager is applied to the manager's Config after the fields above
	// (node lifecycle timings, workers).
	Manager func(*controllers.Config)
	// Log receives the manager's diagnostics (default: discarded).
	Log func(format string, args ...any)
}

// Cluster is an in-process API server and a controller manager on a fake
// clock.
type Cluster struct {
	Config *rest.Config
	Clock  *clocktesting.FakeClock

	opts    Options
	mu      sync.Mutex
	stop    func() error
	manager *controllers.Manager
}

// Start serves a fresh API server on a loopback port and starts the
// manager; Close stops both.
func Start(ctx context.Context, opts Options) (*Cluster, func(), error) {
	store := memory.New()
	// kube-apiserver's dynamic admission (ValidatingAdmissionPolicies, webhooks), as every
	// kube-apiserver since 1.30 enforces it: the specs of refused writes use a policy. The
	// server authorizes nothing, so the policies' authorizer allows everything.
	dyn, err := dynamicadmission.New(dynamicadmission.Options{Authorizer: authorizerfactory.NewAlwaysAllowAuthorizer()})
	if err != nil {
		return nil, nil, err
	}
	srv, err := apiserver.New(apiserver.Config{Store: store, Admission: dyn})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	c := &Cluster{
		Config: &rest.Config{Host: "http://" + ln.Addr().String(), QPS: -1},
		Clock:  clocktesting.NewFakeClock(time.Now()),
		opts:   opts,
	}
	admissionCtx, stopAdmission := context.WithCancel(context.Background())
	closeAll := func() {
		_ = c.StopManager()
		stopAdmission()
		stopServe()
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) && opts.Log != nil {
			opts.Log("apiserver stopped with: %v", err)
		}
		_ = srv.Close()
		_ = store.Close()
	}
	if err := dyn.Start(admissionCtx, rest.CopyConfig(c.Config)); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("starting the dynamic admission: %w", err)
	}
	if err := c.StartManager(ctx); err != nil {
		closeAll()
		return nil, nil, err
	}
	return c, closeAll, nil
}

// Manager returns the running manager (nil when stopped).
func (c *Cluster) Manager() *controllers.Manager {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.manager
}

// StartManager starts a new controller manager and waits for its caches.
func (c *Cluster) StartManager(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		return fmt.Errorf("the controller manager is already running")
	}
	cfg := controllers.Config{
		RESTConfig: c.Config, Controllers: c.opts.Controllers, Replace: c.opts.Replace,
		Clock: c.Clock, Log: c.opts.Log,
	}
	cfg.NodeLifecycle.DeleteAfter = NodeDeletionGrace
	if c.opts.Manager != nil {
		c.opts.Manager(&cfg)
	}
	m, err := controllers.New(cfg)
	if err != nil {
		return err
	}
	stop := m.Start(context.Background())
	if err := m.WaitSynced(ctx); err != nil {
		_ = stop()
		return fmt.Errorf("waiting for the controller manager's caches: %w", err)
	}
	c.stop, c.manager = stop, m
	return nil
}

// StopManager stops the controller manager; the API server keeps running.
func (c *Cluster) StopManager() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop == nil {
		return nil
	}
	err := c.stop()
	c.stop, c.manager = nil, nil
	return err
}

// NodeDeletionGrace is how long the harness's node lifecycle controller lets a node stay Unknown
// before deleting it (nodelifecycle.Config.DeleteAfter): longer than any other spec keeps a
// dead node, so only the deletion specs see one go.
const NodeDeletionGrace = 10 * time.Minute

// Harness is the conformance harness of the mix: a fresh cluster per spec,
// virtual time and restarts supported.
func Harness(opts Options) conformance.ControllerHarness {
	name := opts.Name
	if name == "" {
		name = "reference controllers"
	}
	return conformance.ControllerHarness{
		Name:        name,
		VirtualTime: true,
		Restartable: true,
		ClusterCIDR: nodeipam.DefaultClusterCIDR,
		// The manager deletes nodes Unknown for NodeDeletionGrace (unless Options.Manager
		// changes it; a mix replacing nodelifecycle may not).
		NodeDeletionGrace: NodeDeletionGrace,
		Connect: func(ctx context.Context, cl conformance.Cleaner) (conformance.ControllersUnderTest, error) {
			c, closeAll, err := Start(ctx, opts)
			if err != nil {
				return conformance.ControllersUnderTest{}, err
			}
			cl.Cleanup(closeAll)
			return conformance.ControllersUnderTest{
				Config:  c.Config,
				Advance: c.Clock.Step,
				Now:     c.Clock.Now,
				Stop:    func(context.Context) error { return c.StopManager() },
				Start:   c.StartManager,
			}, nil
		},
	}
}
