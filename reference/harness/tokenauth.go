package harness

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	"k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/closed"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
)

// TokenIssuerURL is the ServiceAccount issuer of TokenAuthAPI (kubeadm's default).
const TokenIssuerURL = closed.DefaultIssuerURL

// TokenAuthAPI is the reference API server, in process on a loopback port, closed to everyone
// but bearer tokens: a static admin token (system:masters) and ServiceAccount tokens signed by
// a key made for the harness, with TokenRequest, TokenReview, SelfSubjectReview and issuer
// discovery served. Every authenticated request is allowed (no authorizer). wrap, when not
// nil, replaces the ServiceAccount token authenticator (the known-bad ones are such
// wrappers). It is the auth harness of the token specs until the closed harness of `up` (TLS,
// client certificates, RBAC) serves them.
func TokenAuthAPI(name string, store conformance.StoreHarness, wrap func(*serviceaccount.Authenticator) authenticator.Token) conformance.AuthHarness {
	var (
		once   sync.Once
		key    *rsa.PrivateKey
		keyErr error
	)
	return conformance.AuthHarness{
		Name: name,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.AuthServerUnderTest, error) {
			once.Do(func() { key, keyErr = rsa.GenerateKey(rand.Reader, 2048) })
			if keyErr != nil {
				return conformance.AuthServerUnderTest{}, keyErr
			}
			cfg, err := startTokenAuthAPI(ctx, c, store, key, wrap)
			if err != nil {
				return conformance.AuthServerUnderTest{}, err
			}
			return conformance.AuthServerUnderTest{Admin: cfg}, nil
		},
	}
}

func startTokenAuthAPI(ctx context.Context, c conformance.Cleaner, store conformance.StoreHarness, key *rsa.PrivateKey, wrap func(*serviceaccount.Authenticator) authenticator.Token) (*rest.Config, error) {
	dir, err := os.MkdirTemp("", "clusterkit-tokenauth-")
	if err != nil {
		return nil, err
	}
	c.Cleanup(func() { _ = os.RemoveAll(dir) })
	s, err := store.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("opening the %s store: %w", store.Name, err)
	}
	c.Cleanup(func() { _ = s.Close() })
	issuer, err := serviceaccount.NewIssuer(TokenIssuerURL, key)
	if err != nil {
		return nil, err
	}
	auds := authenticator.Audiences{TokenIssuerURL}
	saAuth, err := issuer.Authenticator(auds, apiserver.StoreTokenGetter(s, nil))
	if err != nil {
		return nil, err
	}
	var tokens authenticator.Token = saAuth
	if wrap != nil {
		tokens = wrap(saAuth)
	}
	adminToken := rand.Text()
	admin := tokenfile.New(map[string]*user.DefaultInfo{
		adminToken: {Name: "kubernetes-admin", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tcp := ln.Addr().(*net.TCPAddr)
	addr, _ := netip.AddrFromSlice(tcp.IP)
	srv, err := apiserver.New(apiserver.Config{
		Store: s, AdvertiseAddress: addr.Unmap(), AdvertisePort: tcp.Port,
		Access: apiserver.Access{
			Authenticator: bearertoken.New(union.New(admin, tokens)),
			APIAudiences:  auds,
		},
		ServiceAccountIssuer: issuer,
		ServiceAccountTokens: serviceaccount.RequestOptions{ExtendExpiration: true},
	})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, ln) }()
	c.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver for a spec stopped with: %v\n", err)
		}
	})
	return &rest.Config{Host: "http://" + ln.Addr().String(), BearerToken: adminToken, QPS: -1}, nil
}
