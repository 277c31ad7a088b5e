package authn_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/clusterkit/clusterkit/reference/apiserver/authn"
)

// countingTokens accepts the token "good" and counts how often it was asked.
type countingTokens struct{ calls int }

func (c *countingTokens) AuthenticateToken(_ context.Context, token string) (*authenticator.Response, bool, error) {
	c.calls++
	if token != "good" {
		return nil, false, errors.New("invalid bearer token")
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: "system:serviceaccount:ns:robot"}}, true, nil
}

func TestTokenSuccessesAreCached(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ttl       int64
		wantCalls int
	}{{"default cache", 0, 1}, {"cache off", -1, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			tokens := &countingTokens{}
			a, err := authn.New(authn.Options{Tokens: []authenticator.Token{tokens}, TokenCacheTTL: durationOf(tc.ttl)})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				req, _ := http.NewRequest(http.MethodGet, "https://example/api", nil)
				req.Header.Set("Authorization", "Bearer good")
				if resp, ok, err := a.AuthenticateRequest(req); !ok || err != nil || resp.User.GetName() != "system:serviceaccount:ns:robot" {
					t.Fatalf("good token: %v %v %v", resp, ok, err)
				}
			}
			if tokens.calls != tc.wantCalls {
				t.Errorf("the token authenticator saw 3 requests %d times, want %d", tokens.calls, tc.wantCalls)
			}
			calls := tokens.calls
			for range 2 {
				req, _ := http.NewRequest(http.MethodGet, "https://example/api", nil)
				req.Header.Set("Authorization", "Bearer bad")
				if _, ok, _ := a.AuthenticateRequest(req); ok {
					t.Fatal("a bad token authenticated")
				}
			}
			if tokens.calls != calls+2 {
				t.Errorf("a failed token was remembered: %d calls for 2 requests", tokens.calls-calls)
			}
		})
	}
}

func durationOf(n int64) time.Duration { return time.Duration(n) }
