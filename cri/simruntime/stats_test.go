package simruntime_test

import (
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// TestStatsGrowAndSumPerPod: a running container reports the configured CPU rate and memory,
// its cumulative CPU grows, and the pod sandbox's stats are its containers' sum, listing them.
func TestStatsGrowAndSumPerPod(t *testing.T) {
	e := start(t, simruntime.Options{ContainerNanoCores: 2_000_000, ContainerMemory: 8 << 20})
	sb, _ := e.sandbox("busy")
	a := e.run(sb, "a", behavior.TestImage, nil, []string{"serve-hostname", "--port", "8080"})
	e.run(sb, "b", behavior.TestImage, nil, []string{"serve-hostname", "--port", "8081"})
	cpu := func() uint64 {
		t.Helper()
		resp, err := e.rt.ContainerStats(e.ctx, &runtimeapi.ContainerStatsRequest{ContainerId: a})
		if err != nil {
			t.Fatal(err)
		}
		s := resp.Stats
		if s.Cpu.UsageNanoCores.GetValue() != 2_000_000 || s.Memory.WorkingSetBytes.GetValue() != 8<<20 {
			t.Fatalf("container stats %v", s)
		}
		return s.Cpu.UsageCoreNanoSeconds.GetValue()
	}
	first := cpu()
	time.Sleep(50 * time.Millisecond)
	if second := cpu(); second <= first {
		t.Fatalf("cumulative CPU did not grow: %d then %d", first, second)
	}
	list, err := e.rt.ListPodSandboxStats(e.ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{Id: sb}})
	if err != nil || len(list.Stats) != 1 {
		t.Fatalf("ListPodSandboxStats: %v %v", err, list)
	}
	l := list.Stats[0].Linux
	if len(l.Containers) != 2 || l.Cpu.UsageNanoCores.GetValue() != 4_000_000 || l.Memory.WorkingSetBytes.GetValue() != 16<<20 {
		t.Fatalf("pod stats %v", l)
	}
}
