package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"

	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/rbac"
	"github.com/clusterkit/clusterkit/reference/controllers/clusterroleaggregation"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// RBACWrapper replaces the RBAC authorizer of a server's chain (the known-bad RBAC
// authorizers are such wrappers); it may ask factory for informers, which start with RBAC's.
type RBACWrapper func(r *rbac.Authorizer, factory informers.SharedInformerFactory) rbac.RBAC

// InProcessRBAC is the reference API server closed by a static bearer token for its admin (a
// member of system:masters) and RBAC (bootstrap policy, escalation check, review APIs), with
// the ClusterRole aggregation controller running, fresh for every spec. It serves plain HTTP
// on loopback: it is the auth specs' harness for RBAC until the harness with TLS and every
// authenticator.
func InProcessRBAC(store conformance.StoreHarness) conformance.AuthHarness {
	return RBACAuth("reference apiserver with RBAC on "+store.Name, store, nil)
}

// RBACAuth is InProcessRBAC with the RBAC authorizer replaced through wrap (nil keeps it).
func RBACAuth(name string, store conformance.StoreHarness, wrap RBACWrapper) conformance.AuthHarness {
	return conformance.AuthHarness{
		Name: name,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.AuthServerUnderTest, error) {
			cfg, err := startRBACServer(ctx, c, store, wrap)
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			return conformance.AuthServerUnderTest{Admin: cfg}, nil
		},
	}
}

// startRBACServer serves the closed server on a loopback port until the spec's cleanup and
// returns the admin's client config once RBAC has synced.
func startRBACServer(ctx context.Context, c conformance.Cleaner, store conformance.StoreHarness, wrap RBACWrapper) (*rest.Config, error) {
	dir, err := os.MkdirTemp("", "clusterkit-rbac-")
	if err != nil {
		return nil, err
	}
	c.Cleanup(func() { _ = os.RemoveAll(dir) })
	s, err := store.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("opening the %s store: %w", store.Name, err)
	}
	c.Cleanup(func() { _ = s.Close() })

	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(secret)
	authn := bearertoken.New(tokenfile.New(map[string]*user.DefaultInfo{
		token: {Name: "clusterkit-admin", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}},
	}))
	r := rbac.New()
	var chainRBAC rbac.RBAC = r
	// The informer factory needs the server's address: its client is made once we listen.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg := &rest.Config{Host: "http://" + ln.Addr().String(), BearerToken: token, QPS: -1}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	if wrap != nil {
		chainRBAC = wrap(r, factory)
	}
	authz, err := rbac.NewServerAuthorizer(chainRBAC)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	tcp := ln.Addr().(*net.TCPAddr)
	addr, _ := netip.AddrFromSlice(tcp.IP)
	srv, err := apiserver.New(apiserver.Config{
		Store: s, AdvertiseAddress: addr.Unmap(), AdvertisePort: tcp.Port,
		Access:    apiserver.Access{Authenticator: authn, Authorizer: authz},
		Admission: rbac.NewEscalationCheck(r, authz),
	})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(bg, ln) }()
	ctlDone := make(chan error, 1)
	c.Cleanup(func() {
		stop()
		<-ctlDone
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver for a spec stopped with: %v\n", err)
		}
	})
	if err := rbac.Reconcile(ctx, client, rbac.Policy()); err != nil {
		stop()
		ctlDone <- nil
		return nil, fmt.Errorf("bootstrap policy: %w", err)
	}
	if err := r.StartInformers(bg, factory); err != nil {
		stop()
		ctlDone <- nil
		return nil, err
	}
	ctl, err := runner.New(runner.Config{RESTConfig: rest.CopyConfig(cfg)},
		runner.Named{Name: clusterroleaggregation.Name, Factory: clusterroleaggregation.New()})
	if err != nil {
		stop()
		ctlDone <- nil
		return nil, err
	}
	go func() { ctlDone <- ctl.Run(bg) }()
	return rest.CopyConfig(cfg), nil
}
