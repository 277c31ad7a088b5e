package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/clusterkit/clusterkit/interfaces"
)

// StoreHarness plugs an interfaces.Store implementation into the store specs.
// Only Open is required; the rest declare optional capabilities.
type StoreHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Open opens a store that keeps its data in dir. Every spec gets a new,
	// empty dir, so every spec starts from an empty store. The spec closes
	// the store.
	Open func(ctx context.Context, dir string) (interfaces.Store, error)
	// Durable declares that every acknowledged write survives Close and a
	// new Open on the same dir.
	Durable bool
	// SaveSnapshot writes a snapshot of s to path. With RestoreSnapshot it
	// declares the Snapshots capability.
	SaveSnapshot func(ctx context.Context, s interfaces.Store, path string) error
	// RestoreSnapshot prepares dir (new and empty) from the snapshot at path,
	// so that Open(ctx, dir) serves exactly what was saved.
	RestoreSnapshot func(ctx context.Context, path, dir string) error
	// WatchProgress declares that the store's watchers implement
	// interfaces.ProgressWatcher.
	WatchProgress bool
	// SpecTimeout bounds each spec; 0 means one minute.
	SpecTimeout time.Duration
}

// storeEnv is what a store spec works with.
type storeEnv struct {
	h     StoreHarness
	c     Cleaner
	dir   string
	store interfaces.Store
}

// reopen closes the store and opens it again on the same dir.
func (e *storeEnv) reopen(ctx context.Context, g gomega.Gomega) {
	g.Expect(e.store.Close()).To(gomega.Succeed(), "closing the store")
	s, err := e.h.Open(ctx, e.dir)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "reopening the store on the same data")
	e.store = s
	e.c.Cleanup(func() { _ = s.Close() })
}

func (h StoreHarness) suite() suite[*storeEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	name := h.Name
	if name == "" {
		name = "store"
	}
	return suite[*storeEnv]{
		component: "store",
		impl:      name,
		specs:     storeSpecs(),
		timeout:   timeout,
		missing: func(c Capability) string {
			switch c {
			case Durable:
				if !h.Durable {
					return fmt.Sprintf("store %q does not declare durability (StoreHarness.Durable is false)", name)
				}
			case WatchProgress:
				if !h.WatchProgress {
					return fmt.Sprintf("store %q does not declare progress notifications (StoreHarness.WatchProgress is false)", name)
				}
			case Snapshots:
				if h.SaveSnapshot == nil || h.RestoreSnapshot == nil {
					return fmt.Sprintf("store %q does not declare snapshots (StoreHarness.SaveSnapshot/RestoreSnapshot are nil)", name)
				}
			default:
				return fmt.Sprintf("the store harness has no capability %s", c)
			}
			return ""
		},
		setup: func(ctx context.Context, c Cleaner) (*storeEnv, error) {
			if h.Open == nil {
				return nil, fmt.Errorf("StoreHarness.Open is nil")
			}
			dir, err := os.MkdirTemp("", "clusterkit-store-")
			if err != nil {
				return nil, err
			}
			c.Cleanup(func() { _ = os.RemoveAll(dir) })
			s, err := h.Open(ctx, filepath.Join(dir, "data"))
			if err != nil {
				return nil, err
			}
			env := &storeEnv{h: h, c: c, dir: filepath.Join(dir, "data"), store: s}
			c.Cleanup(func() { _ = env.store.Close() })
			return env, nil
		},
	}
}

// RunStore runs every store spec against the harness's implementation as
// subtests of t (go test -run 'TestX/store.watch' selects some).
func RunStore(t *testing.T, h StoreHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeStore registers the store specs in the caller's Ginkgo suite, under
// the label "store":
//
//	var _ = conformance.DescribeStore(conformance.StoreHarness{...})
func DescribeStore(h StoreHarness) bool {
	return h.suite().describe()
}

// CheckStore runs every store spec and returns the results without failing
// anything: the repository's own tests use it to prove known-bad stores are
// rejected.
func CheckStore(ctx context.Context, h StoreHarness) Results {
	return h.suite().check(ctx)
}

// CheckStoreSpecs runs only the store specs whose IDs are listed (every spec when none is)
// and returns the results without failing.
func CheckStoreSpecs(ctx context.Context, h StoreHarness, ids ...string) Results {
	return h.suite().only(ids).check(ctx)
}

// errorClass names an apimachinery error class for readable failures.
type errorClass struct {
	name string
	is   func(error) bool
}

var (
	notFound      = errorClass{"NotFound", apierrors.IsNotFound}
	alreadyExists = errorClass{"AlreadyExists", apierrors.IsAlreadyExists}
	conflict      = errorClass{"Conflict", apierrors.IsConflict}
	expired       = errorClass{"Expired (410)", interfaces.IsExpired}
	badRequest    = errorClass{"BadRequest", apierrors.IsBadRequest}
)

// expectClass asserts that err is of class c.
func expectClass(g gomega.Gomega, err error, c errorClass, what string) {
	g.ExpectWithOffset(1, err).To(gomega.HaveOccurred(), "%s: expected a %s error, got success", what, c.name)
	g.ExpectWithOffset(1, c.is(err)).To(gomega.BeTrue(), "%s: expected a %s error, got %T: %v", what, c.name, err, err)
}

// ok asserts a nil error.
func ok(g gomega.Gomega, err error, what string) {
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), what)
}
