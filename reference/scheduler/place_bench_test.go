package scheduler_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// BenchmarkPlace measures one placement decision of the default profile
// (no API, no binding): go test -run '^$' -bench Place ./reference/scheduler
// Nodes hold 20 pods each and report 5 images.
func BenchmarkPlace(b *testing.B) {
	fw, err := scheduler.NewFramework(plugins.Registry(), scheduler.DefaultProfile(interfaces.LeastAllocated))
	if err != nil {
		b.Fatal(err)
	}
	for _, nodes := range []int{500, 5000} {
		snap := make([]*interfaces.NodeInfo, nodes)
		for i := range snap {
			n := node(fmt.Sprintf("n-%05d", i), "32", "128Gi", label("zone", fmt.Sprintf("z%d", i%3)))
			for j := range 5 {
				n.Status.Images = append(n.Status.Images, corev1.ContainerImage{Names: []string{fmt.Sprintf("img/%d:1", j)}, SizeBytes: 100 << 20})
			}
			ni := info(n, "2", "4Gi", 0)
			for j := range 20 {
				p := pod(fmt.Sprintf("p-%d-%d", i, j), "100m", "200Mi", func(p *corev1.Pod) {
					p.UID = types.UID(fmt.Sprintf("u-%d-%d", i, j))
					p.Labels = map[string]string{"app": fmt.Sprintf("a%d", j)}
				})
				ni.PodList = append(ni.PodList, p)
				ni.Pods++
			}
			snap[i] = ni
		}
		b.Run(fmt.Sprintf("plain/nodes=%d", nodes), func(b *testing.B) {
			p := pod("new", "100m", "200Mi")
			for b.Loop() {
				if _, err := fw.Place(context.Background(), p, snap); err != nil {
					b.Fatal(err)
				}
			}
		})
		// scheduler_perf's SchedulingPodAffinity: one pod per node (color=blue) requiring a
		// color=blue pod in its zone, every node in one zone.
		blue := func(name string) *corev1.Pod {
			return pod(name, "100m", "200Mi", func(p *corev1.Pod) {
				p.UID = types.UID("u-" + name)
				p.Labels = map[string]string{"color": "blue"}
				p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"color": "blue"}}, TopologyKey: "zone"}}}}
			})
		}
		affSnap := make([]*interfaces.NodeInfo, nodes)
		for i := range affSnap {
			ni := info(node(fmt.Sprintf("n-%05d", i), "4", "32Gi", label("zone", "zone1")), "100m", "200Mi", 1)
			p := blue(fmt.Sprintf("b-%d", i))
			ni.PodList = []*corev1.Pod{p}
			ni.PodsWithAffinity = []*corev1.Pod{p}
			affSnap[i] = ni
		}
		b.Run(fmt.Sprintf("pod-affinity/nodes=%d", nodes), func(b *testing.B) {
			p := blue("new")
			for b.Loop() {
				if _, err := fw.Place(context.Background(), p, affSnap); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
