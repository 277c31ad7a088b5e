package schedulerplugin_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/docs/examples/schedulerplugin"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// cluster is a fresh clusterkit API server for each spec, with the admission every
// kube-apiserver runs that the specs rely on (Priority; ValidatingAdmissionPolicies, with which
// the binding specs refuse bindings).
var cluster = harness.PolicyCluster(harness.MemoryStore())

// TestPluginSetConformance: the reference scheduler with the example's
// plugins still passes every scheduler spec.
func TestPluginSetConformance(t *testing.T) {
	conformance.RunScheduler(t, conformance.SchedulerHarness{
		Name:    "reference scheduler + example plugins",
		Cluster: cluster,
		Scoring: interfaces.LeastAllocated,
		// The reference scheduler preempts.
		Preemption: true,
		Start: func(_ context.Context, cfg *rest.Config, name string) (func(), error) {
			p := schedulerplugin.Profile(interfaces.LeastAllocated, "example.com/preferred")
			s, err := scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p, Plugins: schedulerplugin.Plugins()})
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = s.Run(ctx) }()
			return func() { cancel(); <-done }, nil
		},
	})
}

// TestPlugins calls the placement function directly with the plugins.
func TestPlugins(t *testing.T) {
	reg := plugins.Registry()
	if err := reg.Merge(schedulerplugin.Plugins()); err != nil {
		t.Fatal(err)
	}
	fw, err := scheduler.NewFramework(reg, schedulerplugin.Profile(interfaces.LeastAllocated, "example.com/preferred"))
	if err != nil {
		t.Fatal(err)
	}
	node := func(name string, labels map[string]string) *interfaces.NodeInfo {
		res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")}
		return &interfaces.NodeInfo{Node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Status: corev1.NodeStatus{Allocatable: res}}, Requested: corev1.ResourceList{}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	cases := []struct {
		name  string
		nodes []*interfaces.NodeInfo
		want  string
	}{
		{"maintenance is avoided", []*interfaces.NodeInfo{node("a", map[string]string{schedulerplugin.MaintenanceLabel: "true"}), node("b", nil)}, "b"},
		{"the preferred label wins", []*interfaces.NodeInfo{node("a", nil), node("b", map[string]string{"example.com/preferred": ""}), node("c", nil)}, "b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := fw.Place(context.Background(), pod, c.nodes)
			if err != nil || got != c.want {
				t.Fatalf("Place = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if err := reg.Register("Maintenance", schedulerplugin.Plugins()["Maintenance"]); err == nil {
		t.Fatal("registering a plugin name twice must fail")
	}
}
