package conformance

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Compaction: the harness can compact the API server's storage on demand,
// so the specs of 410 Gone can run.
const Compaction Capability = "Compaction"

// APIServerUnderTest is one API server the specs talk to.
type APIServerUnderTest struct {
	// Config reaches the server (client-go).
	Config *rest.Config
	// Compact compacts the server's storage to its current revision; nil
	// when the harness cannot (a live cluster compacts on its own schedule).
	Compact func(ctx context.Context) error
}

// APIHarness plugs an API server into the API specs. The specs use only
// client-go and the Kubernetes REST API, so they run against clusterkit's
// API server or a real Kubernetes API server alike.
type APIHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Connect returns the server a spec talks to: a fresh in-process server
	// per spec, or the same live cluster every time. Each spec works in a
	// namespace of its own, created and deleted by the spec.
	Connect func(ctx context.Context, c Cleaner) (APIServerUnderTest, error)
	// CanCompact declares that every APIServerUnderTest from Connect has
	// Compact set (the Compaction capability).
	CanCompact bool
	// SpecTimeout bounds each spec; 0 means one minute.
	SpecTimeout time.Duration
	// Focus, when set, runs only the specs with these IDs (the others do not run).
	Focus []string
	// ReachesLoopback declares LoopbackWebhooks: the server calls webhooks on 127.0.0.1 of
	// the host the suite runs on.
	ReachesLoopback bool
	// ParallelSpecs declares that the specs share nothing: Connect makes a fresh server
	// for every spec. RunX then runs them as parallel subtests (at most go test's -parallel
	// at once); CheckX and the Ginkgo entry point still run them one after the other.
	ParallelSpecs bool
}

// apiEnv is what an API spec works with.
type apiEnv struct {
	server APIServerUnderTest
	client kubernetes.Interface
	// ns is a namespace made for the spec.
	ns string
	// c cleans up what a spec makes outside its namespace (cluster-scoped objects).
	c Cleaner
}

func (h APIHarness) suite() suite[*apiEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	name := h.Name
	if name == "" {
		name = "apiserver"
	}
	return suite[*apiEnv]{
		component: "api",
		impl:      name,
		specs:     focused(allAPISpecs(), h.Focus),
		timeout:   timeout,
		parallel:  h.ParallelSpecs,
		missing: func(c Capability) string {
			if c == Compaction {
				if h.CanCompact {
					return ""
				}
				return fmt.Sprintf("API server %q cannot be compacted on demand (APIHarness.CanCompact is false)", name)
			}
			if c == LoopbackWebhooks {
				if h.ReachesLoopback {
					return ""
				}
				return fmt.Sprintf("API server %q does not declare that it reaches webhooks on 127.0.0.1 (APIHarness.ReachesLoopback is false)", name)
			}
			return fmt.Sprintf("the API harness has no capability %s", c)
		},
		setup: func(ctx context.Context, c Cleaner) (*apiEnv, error) {
			if h.Connect == nil {
				return nil, fmt.Errorf("APIHarness.Connect is nil")
			}
			srv, err := h.Connect(ctx, c)
			if err != nil {
				return nil, err
			}
			client, err := specClient(srv.Config)
			if err != nil {
				return nil, err
			}
			ns, err := specNamespaceWithServiceAccount(ctx, client, c, "api")
			if err != nil {
				return nil, err
			}
			return &apiEnv{server: srv, client: client, ns: ns, c: c}, nil
		},
	}
}

// focused keeps the specs whose IDs are in focus (all of them when focus is empty).
func focused[E any](specs []spec[E], focus []string) []spec[E] {
	if len(focus) == 0 {
		return specs
	}
	want := map[string]bool{}
	for _, id := range focus {
		want[id] = true
	}
	var kept []spec[E]
	for _, sp := range specs {
		if want[sp.ID] {
			kept = append(kept, sp)
		}
	}
	return kept
}

// RunAPI runs every API spec against the harness's server as subtests of t.
func RunAPI(t *testing.T, h APIHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeAPI registers the API specs in the caller's Ginkgo suite, under the
// label "api".
func DescribeAPI(h APIHarness) bool {
	return h.suite().describe()
}

// CheckAPISpecs runs only the API specs whose IDs are listed and returns the results without
// failing.
func CheckAPISpecs(ctx context.Context, h APIHarness, ids ...string) Results {
	return h.suite().only(ids).check(ctx)
}

// CheckAPI runs every API spec and returns the results without failing.
func CheckAPI(ctx context.Context, h APIHarness) Results {
	return h.suite().check(ctx)
}

// expectInvalidUnder asserts a 422 Invalid error with a cause whose field starts with prefix:
// implementations differ in how deep they name a field (kube-apiserver names
// spec.containers[0].resources.requests and spec.clusterIPs where clusterkit adds [cpu] and
// [0]).
func expectInvalidUnder(g gomega.Gomega, err error, what, prefix string) {
	g.ExpectWithOffset(1, err).To(gomega.HaveOccurred(), "%s: expected 422 Invalid, got success", what)
	g.ExpectWithOffset(1, apierrors.IsInvalid(err)).To(gomega.BeTrue(), "%s: expected 422 Invalid, got %v", what, err)
	var fields []string
	if st, ok := err.(apierrors.APIStatus); ok && st.Status().Details != nil {
		for _, c := range st.Status().Details.Causes {
			fields = append(fields, c.Field)
		}
	}
	g.ExpectWithOffset(1, fields).To(gomega.ContainElement(gomega.HavePrefix(prefix)), "%s: the 422 Status must name a field under %s (causes: %s; error: %v)", what, prefix, strings.Join(fields, ", "), err)
}

// expectInvalid asserts a 422 Invalid error whose causes name every path.
func expectInvalid(g gomega.Gomega, err error, what string, paths ...string) {
	g.ExpectWithOffset(1, err).To(gomega.HaveOccurred(), "%s: expected 422 Invalid, got success", what)
	g.ExpectWithOffset(1, apierrors.IsInvalid(err)).To(gomega.BeTrue(), "%s: expected 422 Invalid, got %v", what, err)
	var fields []string
	if st, ok := err.(apierrors.APIStatus); ok && st.Status().Details != nil {
		for _, c := range st.Status().Details.Causes {
			fields = append(fields, c.Field)
		}
	}
	for _, p := range paths {
		g.ExpectWithOffset(1, fields).To(gomega.ContainElement(p), "%s: the 422 Status must name the field %s (causes: %s; error: %v)", what, p, strings.Join(fields, ", "), err)
	}
}

// allAPISpecs is every spec list of the API component (one list per concern).
func allAPISpecs() []spec[*apiEnv] {
	var all []spec[*apiEnv]
	for _, list := range [][]spec[*apiEnv]{apiSpecs(), apiServiceSpecs(), apiSecretSpecs(), apiWireSpecs(), apiApplySpecs(), apiGroupSpecs(), apiPolicySpecs(), apiCRDSpecs(), apiCRDConversionSpecs(), apiKindSpecs(), apiAggregationSpecs(), apiObservabilitySpecs(), apiResizeSpecs(), apiPodAffinitySpecs(), apiSpreadSpecs(), apiListWatchSpecs()} {
		all = append(all, list...)
	}
	return all
}
