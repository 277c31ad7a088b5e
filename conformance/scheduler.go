package conformance

import (
	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Scoring: the harness declares the scoring strategy of its scheduler, so
// the best-fit spec knows which feasible node must win.
const Scoring Capability = "Scoring"

// Preemption: the harness declares that its scheduler preempts (deletes
// lower-priority pods for a pod that fits nowhere), so the specs that need
// a preemption to happen run.
const Preemption Capability = "Preemption"

// SpreadDefaults: the harness declares that its scheduler applies
// kube-scheduler's system default topology spread constraints to pods
// without constraints of their own, so the spec that needs them runs.
const SpreadDefaults Capability = "SpreadDefaults"

// SchedulerHarness plugs a scheduler into the scheduler specs. The specs use
// only client-go: they create Node objects (with allocatable, labels,
// taints, no kubelet behind them) and Pods, and observe spec.nodeName and the
// PodScheduled condition, so they run against clusterkit's reference
// scheduler, the real kube-scheduler, or any other, in-process or out of
// process.
type SchedulerHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Cluster returns a fresh, empty API server for one spec (no nodes, no
	// other scheduler placing pods of the spec's scheduler name); the spec
	// creates its own nodes.
	Cluster func(ctx context.Context, c Cleaner) (*rest.Config, error)
	// Start runs the scheduler under test against cfg, placing the pods
	// whose spec.schedulerName is schedulerName. stop stops it and returns
	// once it has stopped; a spec may Start again after stop (catch-up).
	Start func(ctx context.Context, cfg *rest.Config, schedulerName string) (stop func(), err error)
	// Scoring declares how the scheduler ranks feasible nodes by their
	// resources; empty skips the best-fit spec (the Scoring capability).
	Scoring interfaces.SchedulerScoring
	// Preemption declares that the scheduler preempts as kube-scheduler's
	// DefaultPreemption does; false skips the specs that need a preemption
	// (the Preemption capability). The preemption specs create
	// PriorityClasses: the API server must run the Priority admission.
	Preemption bool
	// SpreadDefaults declares kube-scheduler's system default topology
	// spread constraints (defaultingType System: hostname maxSkew 3, zone
	// maxSkew 5, ScheduleAnyway, for pods a Service, ReplicationController,
	// ReplicaSet or StatefulSet selects); false skips the spec that needs them.
	SpreadDefaults bool
	// Focus, when not empty, runs only the specs with these IDs.
	Focus []string
	// SpecTimeout bounds each spec; 0 means one minute.
	SpecTimeout time.Duration
}

// schedEnv is what a scheduler spec works with.
type schedEnv struct {
	h      SchedulerHarness
	cfg    *rest.Config
	client kubernetes.Interface
	ns     string
	// name is the spec's scheduler name.
	name string
	// prefix makes the spec's node names unique.
	prefix string
	// c takes the spec's cleanups.
	c Cleaner

	mu   sync.Mutex
	stop func()
}

// stopScheduler stops the scheduler under test (idempotent).
func (e *schedEnv) stopScheduler() {
	e.mu.Lock()
	stop := e.stop
	e.stop = nil
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// startScheduler starts the scheduler under test (again).
func (e *schedEnv) startScheduler(ctx context.Context) error {
	stop, err := e.h.Start(ctx, e.cfg, e.name)
	if err != nil {
		return fmt.Errorf("starting scheduler %s: %w", e.h.Name, err)
	}
	e.mu.Lock()
	e.stop = stop
	e.mu.Unlock()
	return nil
}

func (h SchedulerHarness) suite() suite[*schedEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	name := h.Name
	if name == "" {
		name = "scheduler"
	}
	specs := allSchedulerSpecs()
	if len(h.Focus) > 0 {
		specs = slices.DeleteFunc(specs, func(s spec[*schedEnv]) bool { return !slices.Contains(h.Focus, s.ID) })
	}
	return suite[*schedEnv]{
		component: "scheduler",
		impl:      name,
		specs:     specs,
		timeout:   timeout,
		missing: func(c Capability) string {
			if c == Scoring {
				if h.Scoring != "" {
					return ""
				}
				return fmt.Sprintf("scheduler %q declares no scoring strategy (SchedulerHarness.Scoring is empty)", name)
			}
			if c == Preemption {
				if h.Preemption {
					return ""
				}
				return fmt.Sprintf("scheduler %q does not declare preemption (SchedulerHarness.Preemption is false)", name)
			}
			if c == SpreadDefaults {
				if h.SpreadDefaults {
					return ""
				}
				return fmt.Sprintf("scheduler %q does not declare the system default spread constraints (SchedulerHarness.SpreadDefaults is false)", name)
			}
			return fmt.Sprintf("the scheduler harness has no capability %s", c)
		},
		setup: func(ctx context.Context, c Cleaner) (*schedEnv, error) {
			if h.Cluster == nil || h.Start == nil {
				return nil, fmt.Errorf("SchedulerHarness.Cluster and Start are required")
			}
			cfg, err := h.Cluster(ctx, c)
			if err != nil {
				return nil, fmt.Errorf("starting the cluster: %w", err)
			}
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return nil, err
			}
			var e *schedEnv
			for attempt := 0; ; attempt++ { // a taken name is replaced, as in newSpecNamespace
				tag := fmt.Sprintf("%s-%05d", time.Now().Format("150405"), rand.IntN(100000))
				e = &schedEnv{h: h, cfg: cfg, client: client, ns: "ck-sched-" + tag, name: "ck-scheduler-" + tag, prefix: "ck-" + tag + "-", c: c}
				_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{})
				if err == nil {
					break
				}
				if !apierrors.IsAlreadyExists(err) || attempt == 4 {
					return nil, fmt.Errorf("creating the spec's namespace %s: %w", e.ns, err)
				}
			}
			c.Cleanup(func() {
				bg := context.Background()
				_ = client.CoreV1().Namespaces().Delete(bg, e.ns, metav1.DeleteOptions{})
				nodes, err := client.CoreV1().Nodes().List(bg, metav1.ListOptions{})
				if err == nil {
					for _, n := range nodes.Items {
						if len(n.Name) > len(e.prefix) && n.Name[:len(e.prefix)] == e.prefix {
							_ = client.CoreV1().Nodes().Delete(bg, n.Name, metav1.DeleteOptions{})
						}
					}
				}
			})
			if err := e.startScheduler(ctx); err != nil {
				return nil, err
			}
			c.Cleanup(e.stopScheduler)
			return e, nil
		},
	}
}

// RunScheduler runs every scheduler spec against the harness as subtests of t.
func RunScheduler(t *testing.T, h SchedulerHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeScheduler registers the scheduler specs in the caller's Ginkgo
// suite, under the label "scheduler".
func DescribeScheduler(h SchedulerHarness) bool {
	return h.suite().describe()
}

// CheckScheduler runs every scheduler spec and returns the results without
// failing.
func CheckScheduler(ctx context.Context, h SchedulerHarness) Results {
	return h.suite().check(ctx)
}

// allSchedulerSpecs is every scheduler spec: the suite's and the catalogue's one list.
func allSchedulerSpecs() []spec[*schedEnv] {
	return slices.Concat(schedulerSpecs(), schedulerMatrixSpecs(), schedulerEventSpecs(), schedulerPreemptionSpecs(), schedulerBindingSpecs(), schedulerPortsSpecs(), schedulerSpreadSpecs(), schedulerPodAffinitySpecs(), schedulerNonZeroSpecs())
}
