package authn_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/authn"
	"github.com/clusterkit/clusterkit/reference/apiserver/authz"
	"github.com/clusterkit/clusterkit/reference/pki"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// closedServer serves the reference API server over TLS with authn and the built-in
// authorizers, and returns its URL and PKI.
func closedServer(t *testing.T, opts authn.Options) (string, *pki.Bundle) {
	t.Helper()
	b, err := pki.Ensure(t.TempDir(), pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.ClientCA = b.CAPool()
	a, err := authn.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	z, err := authz.Default()
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := b.ServingTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := apiserver.New(apiserver.Config{
		Store: memory.New(),
		TLS:   tlsConfig,
		Access: apiserver.Access{
			Authenticator: a, Anonymous: true, AnonymousPaths: apiserver.PublicInfoPaths(), Authorizer: z,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "https://" + ln.Addr().String(), b
}

// client trusts the cluster CA and presents id's certificate when id is not nil.
func client(t *testing.T, b *pki.Bundle, id *pki.KeyPair) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: b.CAPool()}
	if id != nil {
		pair, err := id.TLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

func get(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAnonymousOnlyOnPublicInfo(t *testing.T) {
	url, b := closedServer(t, authn.Options{})
	anon := client(t, b, nil)
	for _, path := range []string{"/healthz", "/healthz/ping", "/livez", "/readyz", "/version"} {
		if code, body := get(t, anon, url+path, ""); code != http.StatusOK {
			t.Errorf("anonymous GET %s: %d %s, want 200", path, code, body)
		}
	}
	for _, path := range []string{"/api/v1/pods", "/api/v1/namespaces/default/configmaps", "/api", "/apis", "/openapi/v2", "/metrics", "/healthzx"} {
		if code, body := get(t, anon, url+path, ""); code != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d %s, want 401", path, code, body)
		}
	}
	if code, _ := get(t, anon, url+"/version", "not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("GET /version with a bad token: %d, want 401", code)
	}
	// Plain HTTP on the TLS port is not served.
	resp, err := http.Get(strings.Replace(url, "https://", "http://", 1) + "/version")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Errorf("plain HTTP was answered %s", resp.Status)
		}
	}
}

func TestClientCertificateIdentity(t *testing.T) {
	url, b := closedServer(t, authn.Options{})
	if code, body := get(t, client(t, b, &b.Admin), url+"/api/v1/pods", ""); code != http.StatusOK {
		t.Errorf("the admin's list of pods: %d %s", code, body)
	}
	alice, err := b.IssueClient("alice", "alice", "developers")
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, b, &alice)
	code, body := get(t, c, url+"/api/v1/namespaces/default/pods", "")
	if code != http.StatusForbidden || !strings.Contains(body, `User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"`) {
		t.Errorf("alice's list of pods: %d %s, want kube-apiserver's 403 naming alice", code, body)
	}
	for _, path := range []string{"/api", "/apis", "/version", "/openapi/v3"} {
		if code, body := get(t, c, url+path, ""); code != http.StatusOK {
			t.Errorf("alice's GET %s (discovery): %d %s", path, code, body)
		}
	}
	// The scheduler is authenticated by its certificate, not privileged.
	code, body = get(t, client(t, b, &b.Scheduler), url+"/api/v1/nodes", "")
	if code != http.StatusForbidden || !strings.Contains(body, "system:kube-scheduler") {
		t.Errorf("the scheduler's list of nodes without RBAC: %d %s", code, body)
	}
	// A certificate of another CA is 401, even in system:masters.
	other, err := pki.Ensure(t.TempDir(), pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	intruder := client(t, b, &other.Admin)
	if code, body := get(t, intruder, url+"/api/v1/pods", ""); code != http.StatusUnauthorized {
		t.Errorf("a foreign admin certificate: %d %s, want 401", code, body)
	}
}

func TestTokens(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(file, []byte("root-token,root,uid-1,\"system:masters\"\nbob-token,bob,uid-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, b := closedServer(t, authn.Options{TokenFile: file, StaticTokens: map[string]*user.DefaultInfo{"carol-token": {Name: "carol"}}})
	c := client(t, b, nil)
	if code, body := get(t, c, url+"/api/v1/pods", "root-token"); code != http.StatusOK {
		t.Errorf("root's token: %d %s", code, body)
	}
	for _, who := range []string{"bob", "carol"} {
		code, body := get(t, c, url+"/api/v1/pods", who+"-token")
		if code != http.StatusForbidden || !strings.Contains(body, `User \"`+who+`\"`) {
			t.Errorf("%s's token: %d %s, want 403 naming %s", who, code, body, who)
		}
	}
	if code, _ := get(t, c, url+"/api/v1/pods", "unknown-token"); code != http.StatusUnauthorized {
		t.Errorf("an unknown token: %d, want 401", code)
	}
}

func TestWebsocketProtocolToken(t *testing.T) {
	a, err := authn.New(authn.Options{StaticTokens: map[string]*user.DefaultInfo{"ws-token": {Name: "dave"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/namespaces/default/pods/p/exec", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Protocol", "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io."+base64.RawURLEncoding.EncodeToString([]byte("ws-token")))
	resp, ok, err := a.AuthenticateRequest(r)
	if err != nil || !ok || resp.User.GetName() != "dave" {
		t.Fatalf("websocket token: %v %v %v", resp, ok, err)
	}
	if g := resp.User.GetGroups(); len(g) != 1 || g[0] != user.AllAuthenticated {
		t.Errorf("groups %v, want [system:authenticated]", g)
	}
	// No credentials: not authenticated, no error (Access decides on anonymity).
	if _, ok, err := a.AuthenticateRequest(httptest.NewRequest(http.MethodGet, "/", nil)); ok || err != nil {
		t.Errorf("a request without credentials: %v %v", ok, err)
	}
}
