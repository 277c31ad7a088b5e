package apiserver_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// inProcessAPI is the API harness of the reference server: a fresh server
// on a fresh memory store for every spec.
func inProcessAPI() conformance.APIHarness {
	return conformance.APIHarness{
		Name:       "reference apiserver (memory store)",
		CanCompact: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			store := memory.New()
			srv, err := apiserver.New(apiserver.Config{Store: store})
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			ts := httptest.NewServer(srv.Handler())
			c.Cleanup(ts.Close)
			c.Cleanup(func() { _ = store.Close() })
			return conformance.APIServerUnderTest{
				Config: &rest.Config{Host: ts.URL, QPS: -1},
				Compact: func(ctx context.Context) error {
					rev, err := store.CurrentRevision(ctx)
					if err != nil {
						return err
					}
					return store.Compact(ctx, rev)
				},
			}, nil
		},
	}
}

func TestAPIConformance(t *testing.T) {
	conformance.RunAPI(t, inProcessAPI())
}
