package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/closed"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/controllers/clusterroleaggregation"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	sacontroller "github.com/clusterkit/clusterkit/reference/controllers/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/pki"
)

// InProcessAuth is the reference API server closed as clusterkit up closes it — a fresh PKI
// per spec, HTTPS only, client certificates and bearer tokens, anonymous only on the
// public-info endpoints, the built-in authorizers — on a store from the store harness. Admin
// is kubernetes-admin (system:masters) by client certificate; StoredValue reads the store.
func InProcessAuth(store conformance.StoreHarness) conformance.AuthHarness {
	return ModifiedAuth("reference apiserver (closed) on "+store.Name, store, nil)
}

// ModifiedAuth is InProcessAuth with the server's configuration changed by modify before it
// starts (the known-bad closed servers are such changes); nil changes nothing.
func ModifiedAuth(name string, store conformance.StoreHarness, modify func(*apiserver.Config)) conformance.AuthHarness {
	return conformance.AuthHarness{
		Name:             name,
		CanReadStorage:   true,
		EnforcesWebhooks: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.AuthServerUnderTest, error) {
			return startClosedServer(ctx, c, store, modify)
		},
	}
}

// LiveAuth is a running cluster reached through a kubeconfig file (empty: $KUBECONFIG or
// ~/.kube/config) whose user is a cluster administrator; the store's bytes cannot be read.
func LiveAuth(kubeconfig string) conformance.AuthHarness {
	return conformance.AuthHarness{
		Name: "live cluster",
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.AuthServerUnderTest, error) {
			cfg, err := kubeconfigREST(kubeconfig)
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			return conformance.AuthServerUnderTest{Admin: cfg}, nil
		},
	}
}

// startClosedServer serves a closed reference API server on a loopback port until the spec's
// cleanup.
func startClosedServer(ctx context.Context, c conformance.Cleaner, store conformance.StoreHarness, modify func(*apiserver.Config)) (conformance.AuthServerUnderTest, error) {
	var none conformance.AuthServerUnderTest
	dir, err := os.MkdirTemp("", "clusterkit-auth-")
	if err != nil {
		return none, err
	}
	c.Cleanup(func() { _ = os.RemoveAll(dir) })
	bundle, err := pki.Ensure(filepath.Join(dir, "pki"), pki.Options{})
	if err != nil {
		return none, err
	}
	tlsConfig, err := bundle.ServingTLSConfig()
	if err != nil {
		return none, err
	}
	kv, err := store.Open(ctx, filepath.Join(dir, "store"))
	if err != nil {
		return none, fmt.Errorf("opening the %s store: %w", store.Name, err)
	}
	c.Cleanup(func() { _ = kv.Close() })
	// What clusterkit up closes (package closed), with Pod Security and encrypted Secrets as
	// ProtectedAPIConfig sets them.
	protect, err := ProtectedAPIConfig(dir)
	if err != nil {
		return none, err
	}
	var protection apiserver.Config
	if err := protect(&protection); err != nil {
		return none, err
	}
	comp, err := closed.New(closed.Options{
		PKI: bundle, Store: kv, Encryption: protection.Encryption, IssuerURL: TokenIssuerURL,
		Admission: []admission.Interface{protection.Admission},
	})
	if err != nil {
		return none, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return none, err
	}
	tcp := ln.Addr().(*net.TCPAddr)
	addr, _ := netip.AddrFromSlice(tcp.IP)
	cfg := apiserver.Config{Store: kv, AdvertiseAddress: addr.Unmap(), AdvertisePort: tcp.Port, TLS: tlsConfig}
	comp.Configure(&cfg)
	if modify != nil {
		modify(&cfg)
	}
	srv, err := apiserver.New(cfg)
	if err != nil {
		_ = ln.Close()
		return none, err
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ctlDone := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, ln) }()
	c.Cleanup(func() {
		stop()
		<-ctlDone
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver for a spec stopped with: %v\n", err)
		}
	})
	// A modification may turn TLS off (the access benchmark's server without TLS,
	// authentication and authorization): the clients then speak plain HTTP, as anyone.
	reach := func() *rest.Config {
		if cfg.TLS == nil {
			return &rest.Config{Host: "http://" + ln.Addr().String()}
		}
		return bundle.RESTConfig("https://"+ln.Addr().String(), bundle.Admin)
	}
	loopback := reach()
	loopback.QPS = -1
	if err := comp.Start(serveCtx, loopback); err != nil {
		ctlDone <- nil
		return none, err
	}
	ctl, err := runner.New(runner.Config{RESTConfig: rest.CopyConfig(loopback)},
		runner.Named{Name: clusterroleaggregation.Name, Factory: clusterroleaggregation.New()},
		runner.Named{Name: sacontroller.Name, Factory: sacontroller.New()})
	if err != nil {
		ctlDone <- nil
		return none, err
	}
	go func() { ctlDone <- ctl.Run(serveCtx) }()
	admin := reach()
	admin.QPS = -1
	return conformance.AuthServerUnderTest{
		Admin: admin,
		StoredValue: func(ctx context.Context, resource, namespace, name string) ([]byte, error) {
			return storedValue(ctx, srv, kv, resource, namespace, name)
		},
	}, nil
}

// storedValue reads the bytes the server stored for one object, under its key layout.
func storedValue(ctx context.Context, srv *apiserver.Server, kv interfaces.Store, resource, namespace, name string) ([]byte, error) {
	for _, res := range srv.Registry().Resources() {
		if res.Resource != resource || res.Ephemeral || res.Namespaced != (namespace != "") {
			continue
		}
		got, err := kv.Get(ctx, storage.Key(res, namespace, name))
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewNotFound(res.GroupResource(), name)
		}
		if err != nil {
			return nil, err
		}
		return got.Value, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}
