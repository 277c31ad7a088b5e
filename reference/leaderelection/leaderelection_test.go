package leaderelection_test

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/leaderelection"
)

// fast are election timings short enough for a test (and long enough for a loaded machine to
// renew in time).
func fast(id string) leaderelection.Options {
	return leaderelection.Options{Namespace: "kube-system", Name: "kube-scheduler", Identity: id,
		LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 200 * time.Millisecond}
}

func cluster(t *testing.T) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := harness.Cluster(harness.MemoryStore())(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, kubernetes.NewForConfigOrDie(cfg)
}

func holder(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	l, err := client.CoordinationV1().Leases("kube-system").Get(context.Background(), "kube-scheduler", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// One copy leads at a time; when the leader stops, it gives the Lease up and the other takes
// over without waiting out the lease duration.
func TestOneLeaderThenHandOver(t *testing.T) {
	cfg, client := cluster(t)
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	leading := make(chan string, 2)
	errs := make(chan error, 2)
	lead := func(id string) func(context.Context) error {
		return func(ctx context.Context) error {
			leading <- id
			<-ctx.Done()
			return nil
		}
	}
	go func() { errs <- leaderelection.Run(ctxA, cfg, fast("a"), lead("a")) }()
	if id := <-leading; id != "a" {
		t.Fatalf("first leader %s, want a", id)
	}
	go func() { errs <- leaderelection.Run(ctxB, cfg, fast("b"), lead("b")) }()
	select {
	case id := <-leading:
		t.Fatalf("%s leads while a holds the Lease", id)
	case <-time.After(5 * time.Second): // more than a lease duration: b must still wait
	}
	if h := holder(t, client); h != "a" {
		t.Fatalf("Lease holder %q, want a", h)
	}
	stopA()
	if err := <-errs; err != nil {
		t.Fatalf("a's Run after its context ended: %v, want nil", err)
	}
	start := time.Now()
	select {
	case id := <-leading:
		if id != "b" {
			t.Fatalf("leader after a %s, want b", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take over after a stopped")
	}
	if d := time.Since(start); d > 3*time.Second { // under the 4 s lease duration: a gave the Lease up
		t.Errorf("b took over %s after a stopped: a did not give the Lease up", d)
	}
	waitFor(t, "the Lease held by b", func() bool { return holder(t, client) == "b" })
}

// A leader whose Lease another holder took stops: its context ends and Run says ErrLost.
func TestLosingTheLeaseStops(t *testing.T) {
	cfg, client := cluster(t)
	ended := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		errs <- leaderelection.Run(context.Background(), cfg, fast("a"), func(ctx context.Context) error {
			<-ctx.Done()
			close(ended)
			return nil
		})
	}()
	waitFor(t, "a holding the Lease", func() bool { return holder(t, client) == "a" })
	l, err := client.CoordinationV1().Leases("kube-system").Get(context.Background(), "kube-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds = ptr.To("thief"), ptr.To(int32(60))
	l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	if _, err := client.CoordinationV1().Leases("kube-system").Update(context.Background(), l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, leaderelection.ErrLost) {
			t.Fatalf("Run after its Lease was taken: %v, want ErrLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a still runs 10 s after its Lease was taken")
	}
	select {
	case <-ended:
	default:
		t.Fatal("Run returned before the leader's context ended")
	}
}

// run's error is Run's, and the Lease is given up.
func TestRunErrorIsReturned(t *testing.T) {
	cfg, client := cluster(t)
	boom := errors.New("boom")
	err := leaderelection.Run(context.Background(), cfg, fast("a"), func(context.Context) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want run's error", err)
	}
	if h := holder(t, client); h != "" {
		t.Errorf("Lease holder %q after run returned, want it given up", h)
	}
}
