package simruntime

import (
	"context"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandboxStatsLocked sums the stats of the sandbox's containers: the pod's CPU and memory,
// with each container's stats listed under it, as containerd reports a pod's cgroup.
func (r *Runtime) sandboxStatsLocked(s *sandbox, now int64) *runtimeapi.PodSandboxStats {
	var cpuTotal, nanoCores, mem uint64
	var ctrs []*runtimeapi.ContainerStats
	for _, c := range r.containers {
		if c.sandboxID != s.id {
			continue
		}
		st := r.statsLocked(c, now)
		cpuTotal += st.Cpu.UsageCoreNanoSeconds.Value
		nanoCores += st.Cpu.UsageNanoCores.Value
		mem += st.Memory.WorkingSetBytes.Value
		ctrs = append(ctrs, st)
	}
	return &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: s.id, Metadata: s.meta, Labels: s.labels, Annotations: s.annots},
		Linux: &runtimeapi.LinuxPodSandboxStats{
			Cpu: &runtimeapi.CpuUsage{Timestamp: now, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: cpuTotal},
				UsageNanoCores: &runtimeapi.UInt64Value{Value: nanoCores}},
			Memory: &runtimeapi.MemoryUsage{Timestamp: now, WorkingSetBytes: &runtimeapi.UInt64Value{Value: mem},
				UsageBytes: &runtimeapi.UInt64Value{Value: mem}, RssBytes: &runtimeapi.UInt64Value{Value: mem}},
			Containers: ctrs,
		},
	}
}

// PodSandboxStats implements RuntimeService: the sum of the sandbox's containers' synthetic
// usage (Options.ContainerNanoCores and Options.ContainerMemory for each running one).
func (r *Runtime) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.lookupSandboxLocked(req.PodSandboxId)
	if !ok {
		return nil, notFound("sandbox", req.PodSandboxId)
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: r.sandboxStatsLocked(s, time.Now().UnixNano())}, nil
}

// ListPodSandboxStats implements RuntimeService (filters: ID or ID prefix, labels).
func (r *Runtime) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now().UnixNano()
	f := req.Filter
	var out []*runtimeapi.PodSandboxStats
	for _, s := range r.sandboxes {
		if f != nil {
			if f.Id != "" && !strings.HasPrefix(s.id, f.Id) {
				continue
			}
			if !labelsMatch(s.labels, f.LabelSelector) {
				continue
			}
		}
		out = append(out, r.sandboxStatsLocked(s, now))
	}
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: out}, nil
}
