package kubescheduler_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/dynamicadmission"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
	"github.com/clusterkit/clusterkit/reference/store/memory"

	kubescheduler "github.com/clusterkit/clusterkit/peers/kube-scheduler"
)

func TestMain(m *testing.M) {
	if os.Getenv("KUBE_SCHEDULER_LOGS") == "" {
		klog.SetLogger(logr.Discard())
	}
	os.Exit(m.Run())
}

// cluster is a fresh clusterkit API server on a memory store, with the
// Priority admission (spec.priority from spec.priorityClassName) and the
// dynamic admission (ValidatingAdmissionPolicies: the binding specs refuse
// bindings) as every kube-apiserver runs them.
func cluster(_ context.Context, c conformance.Cleaner) (*rest.Config, error) {
	store := memory.New()
	dyn, err := dynamicadmission.New(dynamicadmission.Options{Authorizer: authorizerfactory.NewAlwaysAllowAuthorizer()})
	if err != nil {
		return nil, err
	}
	srv, err := apiserver.New(apiserver.Config{Store: store, Admission: admission.NewChainHandler(priority.New(), dyn)})
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(kubescheduler.Missing(srv.Handler()))
	c.Cleanup(func() { _ = store.Close() })
	c.Cleanup(ts.Close)
	cfg := &rest.Config{Host: ts.URL, QPS: -1}
	runCtx, stop := context.WithCancel(context.Background())
	c.Cleanup(stop)
	if err := dyn.Start(runCtx, rest.CopyConfig(cfg)); err != nil {
		return nil, err
	}
	return cfg, nil
}

func start(scoring interfaces.SchedulerScoring) func(context.Context, *rest.Config, string) (func(), error) {
	return func(ctx context.Context, cfg *rest.Config, name string) (func(), error) {
		return kubescheduler.Start(ctx, cfg, kubescheduler.Options{SchedulerName: name, Scoring: scoring})
	}
}

// TestKubeSchedulerConformance runs the scheduler specs against the real
// kube-scheduler v1.37.2 on clusterkit's API server.
func TestKubeSchedulerConformance(t *testing.T) {
	conformance.RunScheduler(t, conformance.SchedulerHarness{
		Name:    "kube-scheduler v1.37.2 (LeastAllocated)",
		Cluster: cluster,
		Start:   start(interfaces.LeastAllocated),
		Scoring: interfaces.LeastAllocated,
		// kube-scheduler's DefaultPreemption is in the default profile.
		Preemption: true,
		// PodTopologySpread's defaultingType is System by default.
		SpreadDefaults: true,
	})
}

func TestKubeSchedulerConformanceMostAllocated(t *testing.T) {
	conformance.RunScheduler(t, conformance.SchedulerHarness{
		Name:    "kube-scheduler v1.37.2 (MostAllocated)",
		Cluster: cluster,
		Start:   start(interfaces.MostAllocated),
		Scoring: interfaces.MostAllocated,
		Focus: []string{"scheduler.score.best-fit", "scheduler.fit.burst", "scheduler.score.balanced-allocation", "scheduler.score.least-allocated-weight",
			"scheduler.score.nonzero-defaults", "scheduler.score.explicit-zero", "scheduler.score.balanced-requests"},
	})
}
