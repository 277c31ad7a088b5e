package runner_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// scripted answers Reconcile from a script and records the calls.
type scripted struct {
	mu      sync.Mutex
	calls   int
	answers []func() (interfaces.ReconcileResult, error)
	called  chan int
}

func (s *scripted) Name() string { return "scripted" }

func (s *scripted) Reconcile(context.Context, string) (interfaces.ReconcileResult, error) {
	s.mu.Lock()
	i := s.calls
	s.calls++
	s.mu.Unlock()
	s.called <- i + 1
	if i < len(s.answers) {
		return s.answers[i]()
	}
	return interfaces.ReconcileResult{}, nil
}

func start(t *testing.T, c *scripted, clk, queueClk *clocktesting.FakeClock) {
	t.Helper()
	r, err := runner.New(runner.Config{
		RESTConfig: &rest.Config{Host: "http://127.0.0.1:1"}, Clock: clk, QueueClock: queueClk, Workers: 2,
	}, runner.Named{Name: "scripted", Factory: func(ctx runner.Context) (interfaces.Controller, error) {
		ctx.Queue.Add("ns/key")
		return c, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func expectCall(t *testing.T, c *scripted, n int) {
	t.Helper()
	select {
	case got := <-c.called:
		if got != n {
			t.Fatalf("call %d, want %d", got, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("call %d did not come", n)
	}
}

func expectNoCall(t *testing.T, c *scripted, clk *clocktesting.FakeClock) {
	t.Helper()
	// Wait until the runner has parked its timer on the fake clock, then
	// check that nothing ran without the clock moving.
	deadline := time.Now().Add(5 * time.Second)
	for !clk.HasWaiters() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	select {
	case got := <-c.called:
		t.Fatalf("call %d came before the clock moved", got)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestFailuresBackOffExponentiallyOnTheQueueClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	fail := func() (interfaces.ReconcileResult, error) {
		return interfaces.ReconcileResult{}, errors.New("transient")
	}
	c := &scripted{called: make(chan int, 10), answers: []func() (interfaces.ReconcileResult, error){fail, fail, fail}}
	start(t, c, clk, clk)
	expectCall(t, c, 1)
	for i, delay := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		expectNoCall(t, c, clk)
		clk.Step(delay - time.Millisecond)
		expectNoCall(t, c, clk)
		clk.Step(time.Millisecond)
		expectCall(t, c, i+2)
	}
}

func TestRequeueAfterWaitsOnTheManagerClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	later := func() (interfaces.ReconcileResult, error) {
		return interfaces.ReconcileResult{RequeueAfter: 50 * time.Second}, nil
	}
	c := &scripted{called: make(chan int, 10), answers: []func() (interfaces.ReconcileResult, error){later}}
	start(t, c, clk, clocktesting.NewFakeClock(time.Now()))
	expectCall(t, c, 1)
	expectNoCall(t, c, clk)
	clk.Step(49 * time.Second)
	expectNoCall(t, c, clk)
	clk.Step(time.Second)
	expectCall(t, c, 2)
}

func TestNewRejectsDuplicateNames(t *testing.T) {
	f := func(runner.Context) (interfaces.Controller, error) { return nil, nil }
	_, err := runner.New(runner.Config{RESTConfig: &rest.Config{}}, runner.Named{Name: "a", Factory: f}, runner.Named{Name: "a", Factory: f})
	if err == nil {
		t.Fatal("two controllers of one name were accepted")
	}
}
