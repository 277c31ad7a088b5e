package kubelet

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRequestAttributes(t *testing.T) {
	cases := []struct {
		method, path string
		verb         string
		subresources []string
	}{
		{"GET", "/containerLogs/ns/pod/c", "get", []string{"proxy"}},
		{"POST", "/exec/ns/pod/c", "create", []string{"proxy"}},
		{"GET", "/exec/ns/pod/c", "get", []string{"proxy"}},
		{"POST", "/run/ns/pod/c", "create", []string{"proxy"}},
		{"POST", "/attach/ns/pod/c", "create", []string{"proxy"}},
		{"POST", "/portForward/ns/pod", "create", []string{"proxy"}},
		{"GET", "/stats/summary", "get", []string{"stats"}},
		{"GET", "/metrics", "get", []string{"metrics"}},
		{"GET", "/metrics/cadvisor", "get", []string{"metrics"}},
		{"GET", "/logs/", "get", []string{"log"}},
		{"POST", "/checkpoint/ns/pod/c", "create", []string{"checkpoint"}},
		{"HEAD", "/healthz", "get", []string{"healthz", "proxy"}},
		{"GET", "/pods", "get", []string{"pods", "proxy"}},
		{"GET", "/runningpods/", "get", []string{"pods", "proxy"}},
		{"GET", "/configz", "get", []string{"configz", "proxy"}},
		{"PUT", "/statusz", "update", []string{"statusz", "proxy"}},
		{"PATCH", "/statsx", "patch", []string{"proxy"}},
		{"DELETE", "/logsfoo", "delete", []string{"proxy"}},
	}
	u := &user.DefaultInfo{Name: "alice"}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.path, nil)
		attrs := RequestAttributes(u, r, "node-1")
		var subs []string
		for _, a := range attrs {
			subs = append(subs, a.Subresource)
			if a.Verb != c.verb || a.Resource != "nodes" || a.Name != "node-1" || a.APIGroup != "" || a.Namespace != "" ||
				!a.ResourceRequest || a.User != u || a.Path != c.path {
				t.Errorf("%s %s: attributes %+v, want verb %s on nodes/node-1", c.method, c.path, a, c.verb)
			}
		}
		if !slices.Equal(subs, c.subresources) {
			t.Errorf("%s %s: subresources %v, want %v", c.method, c.path, subs, c.subresources)
		}
	}
}

// fixedAuthn authenticates a request carrying "Authorization: Bearer NAME" as NAME.
type fixedAuthn struct{}

func (fixedAuthn) AuthenticateRequest(r *http.Request) (*authenticator.Response, bool, error) {
	name, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false, nil
	}
	if name == "broken" {
		return nil, false, errors.New("token review failed")
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: name}}, true, nil
}

func TestAPIAuthFilter(t *testing.T) {
	authz := authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		switch {
		case a.GetUser().GetName() == "failing":
			return authorizer.DecisionNoOpinion, "", errors.New("webhook down")
		case a.GetUser().GetName() == "admin",
			a.GetUser().GetName() == "prober" && a.GetSubresource() == "healthz":
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "no RBAC rule", nil
	})
	a := &apiAuth{node: "node-1", authn: fixedAuthn{}, authz: authz}
	h := a.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("served")) }))
	cases := []struct {
		who, method, path string
		status            int
		body              string
	}{
		{"", "GET", "/containerLogs/ns/p/c", 401, "Unauthorized"},
		{"broken", "GET", "/containerLogs/ns/p/c", 401, "Unauthorized"},
		{"bob", "POST", "/exec/ns/p/c", 403, "Forbidden (user=bob, verb=create, resource=nodes, subresource(s)=[proxy])"},
		{"prober", "GET", "/healthz", 200, "served"},
		{"prober", "GET", "/containerLogs/ns/p/c", 403, "Forbidden (user=prober, verb=get, resource=nodes, subresource(s)=[proxy])"},
		{"failing", "GET", "/stats/summary", 500, "Authorization error (user=failing, verb=get, resource=nodes, subresource(s)=[stats])"},
		{"admin", "POST", "/exec/ns/p/c", 200, "served"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.who != "" {
			r.Header.Set("Authorization", "Bearer "+c.who)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || strings.TrimSpace(w.Body.String()) != c.body {
			t.Errorf("%s %s as %q: %d %q, want %d %q", c.method, c.path, c.who, w.Code, w.Body.String(), c.status, c.body)
		}
	}
}

func TestNewAPIAuthChecksConfig(t *testing.T) {
	client := fake.NewClientset()
	if _, err := newAPIAuth(Config{NodeName: "n", AuthorizationMode: "RBAC"}, client); err == nil {
		t.Error("an unknown authorization mode must be refused")
	}
	if _, err := newAPIAuth(Config{NodeName: "n", ClientCA: []byte("not PEM")}, client); err == nil {
		t.Error("a client CA without certificates must be refused")
	}
	if _, err := newAPIAuth(Config{NodeName: "n"}, client); err != nil {
		t.Errorf("token review and SubjectAccessReview only: %v", err)
	}
	if _, err := (Config{NodeName: "n", TLSCertFile: "/nonexistent.crt"}).withDefaults(); err == nil {
		t.Error("a certificate file without its key must be refused")
	}
}
