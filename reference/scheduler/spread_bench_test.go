package scheduler_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// BenchmarkPlaceSpread is one Place on 1,000 nodes of 10 zones holding 10
// pods each: a plain pod with and without PodTopologySpread in the profile
// (what the plugin costs pods without constraints), a pod with a
// DoNotSchedule and a ScheduleAnyway zone constraint, and a pod of a
// workload under the system default constraints.
//
//	go test -run '^$' -bench PlaceSpread ./reference/scheduler
func BenchmarkPlaceSpread(b *testing.B) {
	nodes := make([]*interfaces.NodeInfo, 1000)
	for i := range nodes {
		n := info(node(fmt.Sprintf("n%04d", i), "32", "128Gi", label("zone", fmt.Sprintf("z%d", i%10))), "1", "1Gi", 10)
		for j := range 10 {
			n.PodList = append(n.PodList, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d-%d", i, j), Namespace: "default", Labels: map[string]string{"app": fmt.Sprint(j % 3)}}})
		}
		nodes[i] = n
	}
	without := scheduler.DefaultProfile(interfaces.LeastAllocated)
	without.Filters = slices.DeleteFunc(slices.Clone(without.Filters), func(f string) bool { return f == plugins.PodTopologySpreadName })
	delete(without.Scores, plugins.PodTopologySpreadName)
	spread := func(when corev1.UnsatisfiableConstraintAction) corev1.TopologySpreadConstraint {
		return corev1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: when,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "0"}}}
	}
	spreadPod := pod("spread", "100m", "128Mi", func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "0"}
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{spread(corev1.DoNotSchedule), spread(corev1.ScheduleAnyway)}
	})
	defaults := scheduler.DefaultProfile(interfaces.LeastAllocated)
	defaults.Args[plugins.PodTopologySpreadName] = plugins.SpreadArgs{SystemDefaults: true, Selectors: selectApp0{}}
	for _, bc := range []struct {
		name    string
		profile scheduler.Profile
		pod     *corev1.Pod
	}{
		{"plain/without-plugin", without, pod("plain", "100m", "128Mi")},
		{"plain/with-plugin", scheduler.DefaultProfile(interfaces.LeastAllocated), pod("plain", "100m", "128Mi")},
		{"constrained", scheduler.DefaultProfile(interfaces.LeastAllocated), spreadPod},
		{"system-defaults", defaults, pod("workload", "100m", "128Mi", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "0"} })},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fw, err := scheduler.NewFramework(plugins.Registry(), bc.profile)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := fw.Place(context.Background(), bc.pod, nodes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// selectApp0 is a workload selecting the pods labelled app=0.
type selectApp0 struct{}

func (selectApp0) Selector(pod *corev1.Pod) labels.Selector {
	if pod.Labels["app"] != "0" {
		return nil
	}
	return labels.SelectorFromSet(labels.Set{"app": "0"})
}
