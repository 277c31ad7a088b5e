package scheduler_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

type nodeOpt func(*corev1.Node)

func node(name, cpu, mem string, opts ...nodeOpt) *corev1.Node {
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem), corev1.ResourcePods: resource.MustParse("110")}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}, Status: corev1.NodeStatus{Allocatable: res}}
	for _, o := range opts {
		o(n)
	}
	return n
}

// info is a node with pods pods that request cpu and mem together ("" states no request, which
// the scoring counts as the non-zero defaults per pod).
func info(n *corev1.Node, cpu, mem string, pods int) *interfaces.NodeInfo {
	req := corev1.ResourceList{}
	ni := &interfaces.NodeInfo{Node: n, Requested: req, Pods: pods,
		NonZeroMilliCPU: int64(pods) * plugins.DefaultMilliCPURequest, NonZeroMemory: int64(pods) * plugins.DefaultMemoryRequest}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
		ni.NonZeroMilliCPU = req.Cpu().MilliValue()
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
		ni.NonZeroMemory = req.Memory().Value()
	}
	return ni
}

func pod(name, cpu, mem string, mods ...func(*corev1.Pod)) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i", Resources: corev1.ResourceRequirements{Requests: req}}}}}
	for _, m := range mods {
		m(p)
	}
	return p
}

func taint(key string, effect corev1.TaintEffect) nodeOpt {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: effect}) }
}

func label(k, v string) nodeOpt { return func(n *corev1.Node) { n.Labels[k] = v } }

// TestPlace calls the placement decision directly: a pure function of the
// pod and the node snapshot.
func TestPlace(t *testing.T) {
	cp := node("cp", "16", "64Gi", taint("node-role.kubernetes.io/control-plane", corev1.TaintEffectNoSchedule))
	cases := []struct {
		name    string
		scoring interfaces.SchedulerScoring
		pod     *corev1.Pod
		nodes   []*interfaces.NodeInfo
		want    string
		wantErr string
	}{
		{"requests fit the free room", "", pod("p", "1", "1Gi"),
			[]*interfaces.NodeInfo{info(node("a", "2", "4Gi"), "1500m", "", 1), info(node("b", "2", "4Gi"), "", "", 0)}, "b", ""},
		{"least allocated prefers the emptiest", interfaces.LeastAllocated, pod("p", "500m", "1Gi"),
			[]*interfaces.NodeInfo{info(node("a", "4", "8Gi"), "3", "6Gi", 1), info(node("b", "4", "8Gi"), "", "", 0), info(node("c", "4", "8Gi"), "2", "4Gi", 1)}, "b", ""},
		{"most allocated prefers the fullest that fits", interfaces.MostAllocated, pod("p", "500m", "1Gi"),
			[]*interfaces.NodeInfo{info(node("a", "4", "8Gi"), "3", "6Gi", 1), info(node("b", "4", "8Gi"), "", "", 0), info(node("c", "4", "8Gi"), "2", "4Gi", 1)}, "a", ""},
		{"control-plane taint keeps user pods off", "", pod("p", "100m", ""),
			[]*interfaces.NodeInfo{info(cp, "", "", 0), info(node("w", "1", "1Gi"), "", "", 0)}, "w", ""},
		{"toleration lets a pod onto a tainted node", "", pod("p", "100m", "", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists}}
			p.Spec.NodeSelector = map[string]string{"role": "cp"}
		}), []*interfaces.NodeInfo{info(node("cp", "4", "4Gi", label("role", "cp"), taint("node-role.kubernetes.io/control-plane", corev1.TaintEffectNoSchedule)), "", "", 0), info(node("w", "4", "4Gi"), "", "", 0)}, "cp", ""},
		{"prefer-no-schedule scores lower", "", pod("p", "100m", ""),
			[]*interfaces.NodeInfo{info(node("a", "4", "4Gi", taint("soft", corev1.TaintEffectPreferNoSchedule)), "", "", 0), info(node("b", "4", "4Gi"), "", "", 0)}, "b", ""},
		{"pods count", "", pod("p", "", ""),
			[]*interfaces.NodeInfo{info(node("a", "4", "4Gi", func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourcePods] = resource.MustParse("1") }), "", "", 1)},
			"", "0/1 nodes are available: 1 Too many pods."},
		{"message counts reasons like Kubernetes", "", pod("p", "2", "1Gi"),
			[]*interfaces.NodeInfo{info(cp, "", "", 0), info(node("small", "1", "4Gi"), "", "", 0), info(node("off", "8", "8Gi", func(n *corev1.Node) { n.Spec.Unschedulable = true }), "", "", 0)},
			"", "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable."},
		{"nodeSelector without a match", "", pod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			[]*interfaces.NodeInfo{info(node("a", "1", "1Gi", label("disk", "hdd")), "", "", 0)}, "", "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
		{"no nodes", "", pod("p", "", ""), nil, "", interfaces.NoNodesMessage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fw, err := scheduler.NewFramework(plugins.Registry(), scheduler.DefaultProfile(c.scoring))
			if err != nil {
				t.Fatal(err)
			}
			got, err := fw.Place(context.Background(), c.pod, c.nodes)
			if c.wantErr != "" {
				var fit *interfaces.FitError
				if !errors.As(err, &fit) || err.Error() != c.wantErr {
					t.Fatalf("Place = %q, %v; want FitError %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Place = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestRegistryRejectsDuplicates(t *testing.T) {
	reg := plugins.Registry()
	err := reg.Register(plugins.NodeResourcesFitName, plugins.NewFit)
	if !apierrors.IsAlreadyExists(err) {
		t.Fatalf("registering NodeResourcesFit twice: got %v, want AlreadyExists", err)
	}
	if _, err := scheduler.New(nil, scheduler.Options{}); err == nil {
		t.Fatal("New without a rest.Config must fail")
	}
}

func TestNewFrameworkRejectsBadProfiles(t *testing.T) {
	cases := []struct {
		name    string
		profile scheduler.Profile
	}{
		{"unknown plugin", scheduler.Profile{Filters: []string{"Nope"}}},
		{"score plugin used as filter", scheduler.Profile{Filters: []string{plugins.NodeResourcesBalancedAllocationName}}},
		{"filter plugin used as score", scheduler.Profile{Scores: map[string]int64{plugins.NodeUnschedulableName: 1}}},
		{"zero weight", scheduler.Profile{Scores: map[string]int64{plugins.TaintTolerationName: 0}}},
		{"bad scoring", scheduler.Profile{Filters: []string{plugins.NodeResourcesFitName}, Args: map[string]any{plugins.NodeResourcesFitName: plugins.FitArgs{Scoring: "Random"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := scheduler.NewFramework(plugins.Registry(), c.profile); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
