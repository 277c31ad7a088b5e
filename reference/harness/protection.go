package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/encryption"
	"github.com/clusterkit/clusterkit/reference/apiserver/podsecurity"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
	saadmission "github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount/admission"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/controllers/serviceaccount"
)

// ProtectedAPIConfig is the protection clusterkit up gives its API server: ServiceAccount
// admission (a pod's ServiceAccount must exist; its token is mounted), Pod Security admission
// (privileged by default, as kubeadm, so that the specs' namespace labels decide) and Secrets
// encrypted at rest with a fresh aescbc key. A server with it needs the serviceaccount
// controller running, or no pod is admitted.
func ProtectedAPIConfig(dir string) (func(*apiserver.Config) error, error) {
	path := dir + "/encryption-config.yaml"
	if err := encryption.EnsureDefault(path); err != nil {
		return nil, err
	}
	t, err := encryption.Load(path)
	if err != nil {
		return nil, err
	}
	psa, err := podsecurity.New(podsecurity.Defaults{}, podsecurity.Exemptions{})
	if err != nil {
		return nil, err
	}
	return func(c *apiserver.Config) error {
		c.Encryption = t
		c.Admission = admission.NewChainHandler(priority.New(), saadmission.New(), psa)
		return nil
	}, nil
}

// InProcessProtectedAPI is the reference API server with ProtectedAPIConfig, then configure
// (when not nil; the known-bad servers undo part of the protection), on a store from the store
// harness, open to every request as an administrator (Config.Access zero value), for the
// auth specs of encryption at rest, Pod Security and dryRun, with the serviceaccount controller
// running. It reads its store's bytes (StoredBytes).
func InProcessProtectedAPI(name string, store conformance.StoreHarness, configure func(*apiserver.Config)) conformance.AuthHarness {
	return protectedAPI(name, store, configure, nil)
}

// WrappedProtectedAPI is InProcessProtectedAPI with every request passing through wrap first
// (known-bad servers that mangle requests are such wrappers).
func WrappedProtectedAPI(name string, store conformance.StoreHarness, wrap func(http.Handler) http.Handler) conformance.AuthHarness {
	return protectedAPI(name, store, nil, wrap)
}

func protectedAPI(name string, store conformance.StoreHarness, configure func(*apiserver.Config), wrap func(http.Handler) http.Handler) conformance.AuthHarness {
	return conformance.AuthHarness{
		Name:           name,
		CanReadStorage: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.AuthServerUnderTest, error) {
			dir, err := os.MkdirTemp("", "clusterkit-auth-")
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			c.Cleanup(func() { _ = os.RemoveAll(dir) })
			s, err := store.Open(ctx, dir+"/store")
			if err != nil {
				return conformance.AuthServerUnderTest{}, fmt.Errorf("opening the %s store: %w", store.Name, err)
			}
			c.Cleanup(func() { _ = s.Close() })
			protect, err := ProtectedAPIConfig(dir)
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			cfg := apiserver.Config{Store: s}
			if err := protect(&cfg); err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			if configure != nil {
				configure(&cfg)
			}
			srv, err := apiserver.New(cfg)
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			serveCtx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			if wrap == nil {
				go func() { done <- srv.Serve(serveCtx, ln) }()
			} else {
				if err := srv.Bootstrap(ctx); err != nil {
					_ = ln.Close()
					stop()
					return conformance.AuthServerUnderTest{}, err
				}
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
			rc, err := clientcmd.NewDefaultClientConfig(*apiserver.Kubeconfig("http://" + ln.Addr().String()), nil).ClientConfig()
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			rc.QPS = -1
			if err := runServiceAccounts(rc, c); err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			return conformance.AuthServerUnderTest{
				Admin: rc,
				StoredValue: func(ctx context.Context, resource, namespace, name string) ([]byte, error) {
					for _, res := range srv.Registry().Resources() {
						if res.Resource != resource {
							continue
						}
						kv, err := s.Get(ctx, storage.Key(res, namespace, name))
						if err != nil {
							return nil, err
						}
						return kv.Value, nil
					}
					return nil, fmt.Errorf("no resource %q", resource)
				},
			}, nil
		},
	}
}

// runServiceAccounts runs the serviceaccount controller (every namespace gets its default
// ServiceAccount, which ServiceAccount admission needs) against the server at rc until the
// spec's cleanup.
func runServiceAccounts(rc *rest.Config, c conformance.Cleaner) error {
	ctl, err := runner.New(runner.Config{RESTConfig: rest.CopyConfig(rc)},
		runner.Named{Name: serviceaccount.Name, Factory: serviceaccount.New()})
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	c.Cleanup(func() {
		stop()
		<-done
	})
	return nil
}
