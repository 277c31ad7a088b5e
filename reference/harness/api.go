package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/defaultclass"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
)

// InProcessAPI is the reference API server on a store from the given store
// harness, served on a fresh loopback port for every spec.
func InProcessAPI(store conformance.StoreHarness) conformance.APIHarness {
	return conformance.APIHarness{
		Name:            "reference apiserver on " + store.Name,
		CanCompact:      true,
		ReachesLoopback: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			cfg, s, err := startAPIServerWith(ctx, c, store, nil, &Policy{}, nil)
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			return conformance.APIServerUnderTest{
				Config: cfg,
				Compact: func(ctx context.Context) error {
					rev, err := s.CurrentRevision(ctx)
					if err != nil {
						return err
					}
					return s.Compact(ctx, rev)
				},
			}, nil
		},
	}
}

// Cluster returns a function that starts a fresh reference API server on a
// store from the store harness, for harnesses of other components.
func Cluster(store conformance.StoreHarness) func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
	return ConfiguredCluster(store, nil)
}

// ConfiguredCluster is Cluster with the server's Config changed by configure (nil: none) before
// it starts — e.g. DisableNamespaceCleanup for a controller manager that runs its own namespace
// controller.
func ConfiguredCluster(store conformance.StoreHarness, configure func(*apiserver.Config)) func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
	return func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
		cfg, _, err := startAPIServerWith(ctx, c, store, nil, nil, configure)
		return cfg, err
	}
}

// WrappedAPI is InProcessAPI with every request passing through wrap first
// (the known-bad API servers are such wrappers). Clients send JSON, so a
// wrapper can read and rewrite bodies (client-go otherwise sends protobuf
// for built-in types).
func WrappedAPI(name string, store conformance.StoreHarness, wrap func(http.Handler) http.Handler) conformance.APIHarness {
	return conformance.APIHarness{
		Name:            name,
		ReachesLoopback: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			cfg, _, err := startAPIServerWith(ctx, c, store, wrap, &Policy{}, nil)
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			cfg.ContentConfig.ContentType = "application/json"
			return conformance.APIServerUnderTest{Config: cfg}, nil
		},
	}
}

// startAPIServer serves the reference API server (through wrap, when not
// nil) on a loopback port until the spec's cleanup.
func startAPIServer(ctx context.Context, c conformance.Cleaner, store conformance.StoreHarness, wrap func(http.Handler) http.Handler) (*rest.Config, interfaces.Store, error) {
	return startAPIServerWith(ctx, c, store, wrap, nil, nil)
}

// startAPIServerWith is startAPIServer with a cluster's namespace policy (nil: none) and a
// last change of the server's Config (nil: none).
func startAPIServerWith(ctx context.Context, c conformance.Cleaner, store conformance.StoreHarness, wrap func(http.Handler) http.Handler, pol *Policy, configure func(*apiserver.Config)) (*rest.Config, interfaces.Store, error) {
	dir, err := os.MkdirTemp("", "clusterkit-api-")
	if err != nil {
		return nil, nil, err
	}
	c.Cleanup(func() { _ = os.RemoveAll(dir) })
	s, err := store.Open(ctx, dir)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the %s store: %w", store.Name, err)
	}
	c.Cleanup(func() { _ = s.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	// The server publishes its address in the kubernetes Service's endpoints; Serve knows it
	// from the listener, a wrapped Handler only from the Config.
	tcp := ln.Addr().(*net.TCPAddr)
	addr, _ := netip.AddrFromSlice(tcp.IP)
	// Priority admission resolves pods' priorityClassName and the default-class plugins set
	// claims' and Ingresses' classes, as in every kube-apiserver.
	scfg := apiserver.Config{Store: s, AdvertiseAddress: addr.Unmap(), AdvertisePort: tcp.Port,
		Admission: admission.NewChainHandler(defaultclass.New(), priority.New())}
	var running *policyRun
	if pol != nil {
		if running, err = pol.configure(&scfg, dir); err != nil {
			_ = ln.Close()
			return nil, nil, err
		}
	}
	if configure != nil {
		configure(&scfg)
	}
	srv, err := apiserver.New(scfg)
	if err != nil {
		_ = ln.Close()
		return nil, nil, err
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if wrap == nil {
		go func() { done <- srv.Serve(serveCtx, ln) }()
	} else {
		hs := &http.Server{Handler: wrap(srv.Handler())}
		go func() {
			<-serveCtx.Done()
			_ = hs.Close()
			_ = srv.Close()
		}()
		go func() { done <- hs.Serve(ln) }()
	}
	c.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver for a spec stopped with: %v\n", err)
		}
	})
	cfg, err := clientcmd.NewDefaultClientConfig(*apiserver.Kubeconfig("http://" + ln.Addr().String()), nil).ClientConfig()
	if err != nil {
		return nil, nil, err
	}
	cfg.QPS = -1
	if running != nil {
		if err := running.start(serveCtx, c, rest.CopyConfig(cfg)); err != nil {
			return nil, nil, err
		}
	}
	return cfg, s, nil
}

// LiveAPI is a running cluster reached through a kubeconfig file (empty:
// the usual $KUBECONFIG or ~/.kube/config). Specs work in namespaces of
// their own; the storage cannot be compacted on demand, so the 410 specs
// are skipped with that reason.
func LiveAPI(kubeconfig string) conformance.APIHarness {
	return conformance.APIHarness{
		Name: "live cluster",
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			cfg, err := kubeconfigREST(kubeconfig)
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			return conformance.APIServerUnderTest{Config: cfg}, nil
		},
	}
}

// kubeconfigREST loads the client config of a kubeconfig file (empty: $KUBECONFIG or
// ~/.kube/config), as kubectl does.
func kubeconfigREST(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig (pass --kubeconfig or set KUBECONFIG): %w", err)
	}
	return cfg, nil
}
