package knownbad

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// KubeletWithoutContainerStats wraps the kubelet's runtime so that it reports no container
// stats (ListContainerStats answers nothing, ListPodSandboxStats is unimplemented): a
// kubelet whose stats summary omits every container, so that metrics.k8s.io and kubectl top
// have nothing for its pods.
func KubeletWithoutContainerStats(rt cri.RuntimeService) cri.RuntimeService {
	return noContainerStats{rt}
}

type noContainerStats struct{ cri.RuntimeService }

func (noContainerStats) ListContainerStats(context.Context, *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	return nil, nil
}

func (noContainerStats) ListPodSandboxStats(context.Context, *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	return nil, status.Error(codes.Unimplemented, "ListPodSandboxStats")
}

// KubeletReportingZeroUsage wraps the kubelet's runtime so that every container and pod
// reports zero CPU and memory: a kubelet whose summary lists the containers with no usage.
func KubeletReportingZeroUsage(rt cri.RuntimeService) cri.RuntimeService {
	return zeroUsage{rt}
}

type zeroUsage struct{ cri.RuntimeService }

func zeroed(s *runtimeapi.ContainerStats) {
	ts := s.GetCpu().GetTimestamp()
	s.Cpu = &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{}, UsageNanoCores: &runtimeapi.UInt64Value{}}
	s.Memory = &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: &runtimeapi.UInt64Value{}, UsageBytes: &runtimeapi.UInt64Value{}}
}

func (z zeroUsage) ListContainerStats(ctx context.Context, f *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	list, err := z.RuntimeService.ListContainerStats(ctx, f)
	for _, s := range list {
		zeroed(s)
	}
	return list, err
}

func (z zeroUsage) ListPodSandboxStats(ctx context.Context, f *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	list, err := z.RuntimeService.ListPodSandboxStats(ctx, f)
	for _, s := range list {
		if l := s.GetLinux(); l != nil {
			for _, c := range l.Containers {
				zeroed(c)
			}
			ts := l.GetCpu().GetTimestamp()
			l.Cpu = &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{}, UsageNanoCores: &runtimeapi.UInt64Value{}}
			l.Memory = &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: &runtimeapi.UInt64Value{}}
		}
	}
	return list, err
}
