package scheduler_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// BenchmarkPlacePlainPod is one placement of a pod without affinity on
// 5,000 nodes (the adaptive percentage looks at 10 % of them), with the
// default profile and with it minus InterPodAffinity: what a plain pod pays
// for the plugin's PreFilter and PreScore.
func BenchmarkPlacePlainPod(b *testing.B) {
	nodes := make([]*interfaces.NodeInfo, 5000)
	for i := range nodes {
		nodes[i] = info(node(fmt.Sprintf("n%04d", i), "32", "128Gi"), "1", "1Gi", 5)
	}
	without := scheduler.DefaultProfile(interfaces.LeastAllocated)
	without.Filters = slices.DeleteFunc(slices.Clone(without.Filters), func(s string) bool { return s == plugins.InterPodAffinityName })
	delete(without.Scores, plugins.InterPodAffinityName)
	for name, p := range map[string]scheduler.Profile{"default": scheduler.DefaultProfile(interfaces.LeastAllocated), "without-InterPodAffinity": without} {
		b.Run(name, func(b *testing.B) {
			fw, err := scheduler.NewFramework(plugins.Registry(), p)
			if err != nil {
				b.Fatal(err)
			}
			p := pod("plain", "100m", "128Mi")
			b.ResetTimer()
			for range b.N {
				if _, err := fw.Place(context.Background(), p, nodes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
