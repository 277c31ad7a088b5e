package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// StoredBytes: the harness can read the bytes the API server stored for an object (the
// encryption-at-rest specs look for a Secret's value in them).
const StoredBytes Capability = "StoredBytes"

// DynamicAdmission: the server enforces admission webhooks and policies, and reaches webhook
// servers the specs start on 127.0.0.1 of the host the suite runs on (an API server on that
// host; a cluster elsewhere cannot call them).
const DynamicAdmission Capability = "DynamicAdmission"

// AuthServerUnderTest is a closed API server (TLS, authentication, authorization) the auth
// specs talk to.
type AuthServerUnderTest struct {
	// Admin reaches the server as a cluster administrator: a member of system:masters or
	// bound to cluster-admin, allowed to impersonate. The specs derive every other identity
	// from it: anonymous (rest.AnonymousClientConfig), users and groups (impersonation),
	// ServiceAccounts (TokenRequest).
	Admin *rest.Config
	// StoredValue returns the raw bytes stored for one object (resource is the plural name,
	// namespace empty for cluster-scoped objects); nil when the harness cannot read its
	// storage.
	StoredValue func(ctx context.Context, resource, namespace, name string) ([]byte, error)
}

// AuthHarness plugs a closed API server into the auth specs. The specs use only client-go and
// the Kubernetes REST API, so they run against clusterkit's API server or a real Kubernetes
// control plane alike.
type AuthHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Connect returns the server a spec talks to.
	Connect func(ctx context.Context, c Cleaner) (AuthServerUnderTest, error)
	// SpecTimeout bounds each spec; 0 means one minute.
	SpecTimeout time.Duration
	// ParallelSpecs declares that the specs share nothing: Connect makes a fresh server
	// for every spec. RunX then runs them as parallel subtests (at most go test's -parallel
	// at once); CheckX and the Ginkgo entry point still run them one after the other.
	ParallelSpecs bool
	// CanReadStorage declares StoredBytes: Connect's AuthServerUnderTest has a StoredValue.
	CanReadStorage bool
	// EnforcesWebhooks declares DynamicAdmission.
	EnforcesWebhooks bool
}

// authEnv is what an auth spec works with.
type authEnv struct {
	server AuthServerUnderTest
	// admin is a client with Admin's identity.
	admin kubernetes.Interface
	// ns is a namespace made for the spec.
	ns string
	// c runs cleanups when the spec ends (cluster-scoped objects the spec made).
	c Cleaner
}

// authSpecs are every auth behaviour, one list per concern.
func authSpecs() []spec[*authEnv] {
	var all []spec[*authEnv]
	all = append(all, authnSpecs()...)
	all = append(all, rbacSpecs()...)
	all = append(all, tokenSpecs()...)
	all = append(all, protectionSpecs()...)
	all = append(all, nodeSpecs()...)
	all = append(all, serviceAccountSpecs()...)
	all = append(all, admissionSpecs()...)
	all = append(all, podCertificateSpecs()...)
	return all
}

func (h AuthHarness) suite() suite[*authEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	name := h.Name
	if name == "" {
		name = "apiserver"
	}
	return suite[*authEnv]{
		component: "auth",
		impl:      name,
		specs:     authSpecs(),
		timeout:   timeout,
		parallel:  h.ParallelSpecs,
		missing: func(c Capability) string {
			if c == StoredBytes && h.CanReadStorage || c == DynamicAdmission && h.EnforcesWebhooks {
				return ""
			}
			return fmt.Sprintf("the auth harness %q has no capability %s", name, c)
		},
		setup: func(ctx context.Context, c Cleaner) (*authEnv, error) {
			if h.Connect == nil {
				return nil, fmt.Errorf("AuthHarness.Connect is nil")
			}
			srv, err := h.Connect(ctx, c)
			if err != nil {
				return nil, err
			}
			if srv.Admin == nil {
				return nil, fmt.Errorf("AuthHarness.Connect returned no Admin config")
			}
			client, err := specClient(srv.Admin)
			if err != nil {
				return nil, err
			}
			ns, err := specNamespaceWithServiceAccount(ctx, client, c, "auth")
			if err != nil {
				return nil, err
			}
			return &authEnv{server: srv, admin: client, ns: ns, c: c}, nil
		},
	}
}

// RunAuth runs every auth spec against the harness's server as subtests of t.
func RunAuth(t *testing.T, h AuthHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeAuth registers the auth specs in the caller's Ginkgo suite, under the label "auth".
func DescribeAuth(h AuthHarness) bool {
	return h.suite().describe()
}

// CheckAuthSpecs runs only the auth specs whose IDs are listed and returns the results
// without failing.
func CheckAuthSpecs(ctx context.Context, h AuthHarness, ids ...string) Results {
	return h.suite().only(ids).check(ctx)
}

// CheckAuth runs every auth spec and returns the results without failing.
func CheckAuth(ctx context.Context, h AuthHarness) Results {
	return h.suite().check(ctx)
}

// auth builds one auth behaviour.
func auth(id, must, source string) Behavior {
	return Behavior{ID: id, Component: "auth", Must: must, Source: source}
}
