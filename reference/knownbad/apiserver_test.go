package knownbad_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/knownbad"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// apiHarness serves the reference API server through wrap.
func apiHarness(name string, wrap func(http.Handler) http.Handler) conformance.APIHarness {
	return conformance.APIHarness{
		Name: name,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			store := memory.New()
			srv, err := apiserver.New(apiserver.Config{Store: store})
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			ts := httptest.NewServer(wrap(srv.Handler()))
			c.Cleanup(ts.Close)
			c.Cleanup(func() { _ = store.Close() })
			// JSON bodies, so the wrappers can rewrite them (client-go
			// otherwise sends protobuf for built-in types).
			cfg := &rest.Config{Host: ts.URL, QPS: -1, ContentConfig: rest.ContentConfig{ContentType: "application/json"}}
			return conformance.APIServerUnderTest{Config: cfg}, nil
		},
	}
}

// TestAPISuiteRejectsKnownBadServers runs the API suite against API servers
// with one bug each and asserts that the specs aimed at the bug fail.
func TestAPISuiteRejectsKnownBadServers(t *testing.T) {
	cases := []struct {
		name     string
		wrap     func(http.Handler) http.Handler
		mustFail []string
	}{
		{"accepts stale writes", knownbad.APIAcceptingStaleWrites,
			[]string{"api.update.stale-resource-version"}},
		{"ignores fieldValidation", knownbad.APIIgnoringFieldValidation,
			[]string{"api.validation.strict-fields"}},
		{"status writes go to the main resource", knownbad.APIWritingStatusThroughMain,
			[]string{"api.subresource.status-isolation"}},
		{"drops watch events", knownbad.APIDroppingWatchEvents,
			[]string{"api.watch.from-resource-version", "api.watch.informer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			results := conformance.CheckAPI(context.Background(), apiHarness("knownbad/"+c.name, c.wrap))
			failed := map[string]bool{}
			for _, id := range results.Failed() {
				failed[id] = true
			}
			for _, id := range c.mustFail {
				if !failed[id] {
					t.Errorf("the suite did not reject the bug %q through %s", c.name, id)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("results:\n%s", results)
			}
		})
	}
}
