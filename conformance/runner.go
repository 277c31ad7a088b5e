package conformance

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// spec is one behaviour and the code that checks it against an environment
// E made fresh for the spec.
type spec[E any] struct {
	Behavior
	run func(ctx context.Context, g gomega.Gomega, env E)
}

// Cleaner registers a function to run when the spec ends (testing.T,
// Ginkgo's DeferCleanup and the self-test runner all provide one).
type Cleaner interface {
	Cleanup(func())
}

// suite binds a component's specs to one implementation.
type suite[E any] struct {
	// component label, for the container's name.
	component string
	// impl names the implementation under test.
	impl  string
	specs []spec[E]
	// missing returns why the implementation cannot run a spec needing c,
	// or "" when it declares c.
	missing func(c Capability) string
	// setup builds a fresh environment for one spec.
	setup func(ctx context.Context, c Cleaner) (E, error)
	// timeout bounds each spec.
	timeout time.Duration
	// parallel runs the specs as parallel subtests in runTests (the harness declared
	// ParallelSpecs: every spec gets an implementation of its own).
	parallel bool
}

// only returns the suite with just the specs whose IDs are listed, or every spec when none
// is (known-bad tests run the specs aimed at a bug, not the whole suite).
func (s suite[E]) only(ids []string) suite[E] {
	s.specs = focused(s.specs, ids)
	return s
}

func (s suite[E]) skipReason(b Behavior) string {
	for _, c := range b.Needs {
		if why := s.missing(c); why != "" {
			return why
		}
	}
	return ""
}

// runTests runs every spec as a subtest of t; in parallel (t.Parallel, at most go test's
// -parallel at once) when the harness declared ParallelSpecs.
func (s suite[E]) runTests(t *testing.T) {
	t.Helper()
	for _, sp := range s.specs {
		t.Run(sp.ID, func(t *testing.T) {
			if s.parallel {
				t.Parallel()
			}
			t.Log(sp.Must)
			if why := s.skipReason(sp.Behavior); why != "" {
				t.Skipf("skipped: %s", why)
			}
			ctx, cancel := context.WithTimeout(t.Context(), s.timeout)
			defer cancel()
			env, err := s.setup(ctx, t)
			if err != nil {
				t.Fatalf("setting up %s for %s: %v", s.impl, sp.ID, err)
			}
			sp.run(ctx, gomega.NewWithT(t), env)
		})
	}
}

// ginkgoCleaner adapts Ginkgo's DeferCleanup.
type ginkgoCleaner struct{}

func (ginkgoCleaner) Cleanup(f func()) { ginkgo.DeferCleanup(f) }

// describe registers the specs as a Ginkgo container. Call it at the top level
// of a Ginkgo suite (var _ = ...).
func (s suite[E]) describe() bool {
	return ginkgo.Describe(fmt.Sprintf("[%s] %s", s.component, s.impl), ginkgo.Label(s.component), func() {
		for _, sp := range s.specs {
			ginkgo.It(sp.Title(), ginkgo.Label(sp.ginkgoLabels()...), func(ctx ginkgo.SpecContext) {
				if why := s.skipReason(sp.Behavior); why != "" {
					ginkgo.Skip(why)
				}
				ctx2, cancel := context.WithTimeout(ctx, s.timeout)
				defer cancel()
				env, err := s.setup(ctx2, ginkgoCleaner{})
				if err != nil {
					ginkgo.Fail(fmt.Sprintf("setting up %s for %s: %v", s.impl, sp.ID, err))
				}
				sp.run(ctx2, gomega.NewGomega(ginkgo.Fail), env)
			})
		}
	})
}

// Outcome is how a spec ended.
type Outcome string

// The outcomes of a spec.
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped"
)

// Result is the outcome of one spec against one implementation.
type Result struct {
	Behavior
	Outcome Outcome
	// Message is the failure, or the reason for a skip.
	Message  string
	Duration time.Duration
}

// Results is the outcome of a whole suite.
type Results []Result

// Failed returns the IDs of the failed specs, sorted.
func (rs Results) Failed() []string {
	var ids []string
	for _, r := range rs {
		if r.Outcome == Failed {
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// String is a readable report, a line a spec.
func (rs Results) String() string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%-7s %s (%s)\n", r.Outcome, r.Title(), r.Duration.Round(time.Millisecond))
		if r.Message != "" {
			for _, line := range strings.Split(strings.TrimSpace(r.Message), "\n") {
				fmt.Fprintf(&b, "        %s\n", line)
			}
		}
	}
	return b.String()
}

// Cleanups is a Cleaner that runs its functions, last first, when Run is called: the Cleaner
// of CheckX, and what a harness that shares resources across specs (built on the first spec,
// kept until the suite ends) can collect their teardown in.
type Cleanups struct {
	mu  sync.Mutex
	fns []func()
}

// Cleanup implements Cleaner.
func (c *Cleanups) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

// Run runs the functions collected so far, last first, and forgets them.
func (c *Cleanups) Run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// check runs every spec and collects the results, without a testing.T.
// A failure stops its spec (like t.Fatal) and the next spec runs.
func (s suite[E]) check(ctx context.Context) Results {
	out := make(Results, 0, len(s.specs))
	for _, sp := range s.specs {
		start := time.Now()
		r := Result{Behavior: sp.Behavior, Outcome: Passed}
		if why := s.skipReason(sp.Behavior); why != "" {
			r.Outcome, r.Message = Skipped, why
			out = append(out, r)
			continue
		}
		r.Outcome, r.Message = s.checkOne(ctx, sp)
		r.Duration = time.Since(start)
		out = append(out, r)
	}
	return out
}

func (s suite[E]) checkOne(ctx context.Context, sp spec[E]) (Outcome, string) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var c Cleanups
	defer c.Run()
	var (
		mu      sync.Mutex
		message string
		failed  bool
	)
	fail := func(msg string, _ ...int) {
		mu.Lock()
		if !failed {
			failed, message = true, msg
		}
		mu.Unlock()
		runtime.Goexit()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				mu.Lock()
				failed, message = true, fmt.Sprintf("panic: %v", p)
				mu.Unlock()
			}
		}()
		env, err := s.setup(ctx, &c)
		if err != nil {
			fail(fmt.Sprintf("setting up %s: %v", s.impl, err))
		}
		sp.run(ctx, gomega.NewGomega(fail), env)
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if failed {
		return Failed, message
	}
	return Passed, ""
}
