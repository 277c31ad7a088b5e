package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/procfs"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// The kubelet's resource usage endpoints, as the real kubelet serves them for metrics-server
// and kubectl top: /stats/summary (the Summary API, k8s.io/kubelet/pkg/apis/stats/v1alpha1) and
// /metrics/resource (the same figures in Prometheus text). Pods and containers come from the
// CRI (ListPodSandbox, ListContainers, ListContainerStats, ListPodSandboxStats where the
// runtime has it, ImageFsInfo); the node's CPU and memory from /proc/stat and /proc/meminfo.
// Both are read when asked (no background housekeeping): a rate of CPU use (usageNanoCores) is
// the runtime's where it reports one, else the kubelet's own from its previous reading.

const (
	// statsMinInterval is the shortest interval a CPU rate is computed over; a caller asking
	// sooner gets the rate computed last.
	statsMinInterval = time.Second
	// statsWindow is how long the kubelet keeps a CPU reading as the start of the interval
	// its rates are computed over (cAdvisor's housekeeping interval).
	statsWindow = 10 * time.Second
	// statsFirstInterval is the interval of the very first node CPU rate, measured on the spot.
	statsFirstInterval = 100 * time.Millisecond
)

// cpuReading is a cumulative CPU time (core-nanoseconds) at an instant.
type cpuReading struct {
	at    time.Time
	total uint64
}

// cpuRate turns cumulative readings of one CPU consumer into a rate: the first reading kept
// for up to statsWindow is the interval's start.
type cpuRate struct {
	base cpuReading
	last uint64
	have bool
}

// next returns the rate (nanocores) as of r, and whether there is one yet.
func (c *cpuRate) next(r cpuReading) (uint64, bool) {
	if c.base.at.IsZero() || r.total < c.base.total {
		c.base = r
		return c.last, c.have
	}
	elapsed := r.at.Sub(c.base.at)
	if elapsed >= statsMinInterval || !c.have && elapsed > 0 {
		c.last = uint64(float64(r.total-c.base.total) / elapsed.Seconds())
		c.have = true
	}
	if elapsed >= statsWindow {
		c.base = r
	}
	return c.last, c.have
}

// statsState is what the kubelet remembers between stats requests: the CPU readings its
// rates are computed from.
type statsState struct {
	mu   sync.Mutex
	node cpuRate
	// ctrs are the containers' rates, by container ID, for runtimes that report no
	// usageNanoCores themselves.
	ctrs map[string]*cpuRate
}

// readNodeCPU reads the node's cumulative busy CPU time (all but idle and iowait) from
// /proc/stat.
func readNodeCPU(fs procfs.FS) (cpuReading, error) {
	st, err := fs.Stat()
	if err != nil {
		return cpuReading{}, fmt.Errorf("reading /proc/stat: %w", err)
	}
	c := st.CPUTotal
	busy := c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
	return cpuReading{at: time.Now(), total: uint64(busy * 1e9)}, nil
}

// nodeStats reads the node's CPU and memory.
func (k *Kubelet) nodeStats(ctx context.Context) (statsv1alpha1.NodeStats, error) {
	out := statsv1alpha1.NodeStats{NodeName: k.cfg.NodeName}
	fs, err := procfs.NewFS("/proc")
	if err != nil {
		return out, fmt.Errorf("opening /proc: %w", err)
	}
	st, err := fs.Stat()
	if err != nil {
		return out, fmt.Errorf("reading /proc/stat: %w", err)
	}
	out.StartTime = metav1.NewTime(time.Unix(int64(st.BootTime), 0))
	r, err := readNodeCPU(fs)
	if err != nil {
		return out, err
	}
	k.stats.mu.Lock()
	rate, ok := k.stats.node.next(r)
	k.stats.mu.Unlock()
	if !ok {
		// The first request: measure a rate on the spot.
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(statsFirstInterval):
		}
		if r, err = readNodeCPU(fs); err != nil {
			return out, err
		}
		k.stats.mu.Lock()
		rate, _ = k.stats.node.next(r)
		k.stats.mu.Unlock()
	}
	total := r.total
	out.CPU = &statsv1alpha1.CPUStats{Time: metav1.NewTime(r.at), UsageNanoCores: &rate, UsageCoreNanoSeconds: &total}
	mi, err := fs.Meminfo()
	if err != nil {
		return out, fmt.Errorf("reading /proc/meminfo: %w", err)
	}
	if mi.MemTotalBytes != nil && mi.MemAvailableBytes != nil && mi.MemFreeBytes != nil {
		avail := *mi.MemAvailableBytes
		ws := *mi.MemTotalBytes - avail
		usage := *mi.MemTotalBytes - *mi.MemFreeBytes
		out.Memory = &statsv1alpha1.MemoryStats{Time: metav1.Now(), AvailableBytes: &avail, UsageBytes: &usage, WorkingSetBytes: &ws}
	}
	if fsi, err := k.images.ImageFsInfo(ctx); err == nil {
		rs := &statsv1alpha1.RuntimeStats{}
		if len(fsi.ImageFilesystems) > 0 {
			rs.ImageFs = fsStats(fsi.ImageFilesystems[0])
		}
		if len(fsi.ContainerFilesystems) > 0 {
			rs.ContainerFs = fsStats(fsi.ContainerFilesystems[0])
		}
		out.Runtime = rs
	}
	return out, nil
}

func fsStats(u *runtimeapi.FilesystemUsage) *statsv1alpha1.FsStats {
	if u == nil {
		return nil
	}
	out := &statsv1alpha1.FsStats{Time: metav1.NewTime(time.Unix(0, u.Timestamp))}
	if u.UsedBytes != nil {
		v := u.UsedBytes.Value
		out.UsedBytes = &v
	}
	if u.InodesUsed != nil {
		v := u.InodesUsed.Value
		out.InodesUsed = &v
	}
	return out
}

// cpuStats converts a CRI CPU usage; a missing usageNanoCores is computed from the kubelet's
// previous reading of the same consumer (key).
func (k *Kubelet) cpuStats(key string, u *runtimeapi.CpuUsage) *statsv1alpha1.CPUStats {
	if u == nil {
		return nil
	}
	at := time.Unix(0, u.Timestamp)
	out := &statsv1alpha1.CPUStats{Time: metav1.NewTime(at)}
	if u.UsageCoreNanoSeconds != nil {
		v := u.UsageCoreNanoSeconds.Value
		out.UsageCoreNanoSeconds = &v
	}
	if u.UsageNanoCores != nil {
		v := u.UsageNanoCores.Value
		out.UsageNanoCores = &v
	} else if out.UsageCoreNanoSeconds != nil {
		k.stats.mu.Lock()
		if k.stats.ctrs == nil {
			k.stats.ctrs = map[string]*cpuRate{}
		}
		c := k.stats.ctrs[key]
		if c == nil {
			c = &cpuRate{}
			k.stats.ctrs[key] = c
		}
		if v, ok := c.next(cpuReading{at: at, total: *out.UsageCoreNanoSeconds}); ok {
			out.UsageNanoCores = &v
		}
		k.stats.mu.Unlock()
	}
	return out
}

func memoryStats(u *runtimeapi.MemoryUsage) *statsv1alpha1.MemoryStats {
	if u == nil {
		return nil
	}
	out := &statsv1alpha1.MemoryStats{Time: metav1.NewTime(time.Unix(0, u.Timestamp))}
	for _, f := range []struct {
		from *runtimeapi.UInt64Value
		to   **uint64
	}{
		{u.WorkingSetBytes, &out.WorkingSetBytes}, {u.UsageBytes, &out.UsageBytes},
		{u.RssBytes, &out.RSSBytes}, {u.AvailableBytes, &out.AvailableBytes},
		{u.PageFaults, &out.PageFaults}, {u.MajorPageFaults, &out.MajorPageFaults},
	} {
		if f.from != nil {
			v := f.from.Value
			*f.to = &v
		}
	}
	return out
}

// podStats reads the running pods' and containers' usage from the runtime: each ready
// sandbox (the newest of a pod) with its running containers.
func (k *Kubelet) podStats(ctx context.Context) ([]statsv1alpha1.PodStats, error) {
	sandboxes, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}})
	if err != nil {
		return nil, fmt.Errorf("listing pod sandboxes: %w", err)
	}
	ctrs, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	cstats, err := k.runtime.ListContainerStats(ctx, &runtimeapi.ContainerStatsFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing container stats: %w", err)
	}
	byCtr := make(map[string]*runtimeapi.ContainerStats, len(cstats))
	for _, s := range cstats {
		byCtr[s.GetAttributes().GetId()] = s
	}
	// The pod-level cgroup's usage where the runtime reports it (ListPodSandboxStats is
	// optional in the CRI); else the sum of the containers'.
	bySandbox := map[string]*runtimeapi.PodSandboxStats{}
	if sbs, err := k.runtime.ListPodSandboxStats(ctx, &runtimeapi.PodSandboxStatsFilter{}); err == nil {
		for _, s := range sbs {
			bySandbox[s.GetAttributes().GetId()] = s
		}
	}
	newest := map[string]*runtimeapi.PodSandbox{}
	for _, sb := range sandboxes {
		uid := sb.GetMetadata().GetUid()
		if cur := newest[uid]; cur == nil || sb.CreatedAt > cur.CreatedAt {
			newest[uid] = sb
		}
	}
	out := make([]statsv1alpha1.PodStats, 0, len(newest))
	for _, sb := range newest {
		ps := statsv1alpha1.PodStats{
			PodRef:    statsv1alpha1.PodReference{Name: sb.GetMetadata().GetName(), Namespace: sb.GetMetadata().GetNamespace(), UID: sb.GetMetadata().GetUid()},
			StartTime: metav1.NewTime(time.Unix(0, sb.CreatedAt)),
		}
		var cpuTotal, cpuRate, memWS, memUsage uint64
		var at time.Time
		for _, c := range ctrs {
			if c.PodSandboxId != sb.Id {
				continue
			}
			st := byCtr[c.Id]
			if st == nil {
				continue
			}
			cs := statsv1alpha1.ContainerStats{
				Name:      c.GetMetadata().GetName(),
				StartTime: metav1.NewTime(time.Unix(0, c.CreatedAt)),
				CPU:       k.cpuStats(c.Id, st.Cpu),
				Memory:    memoryStats(st.Memory),
				Rootfs:    fsStats(st.WritableLayer),
			}
			if cs.CPU != nil {
				cpuTotal += deref(cs.CPU.UsageCoreNanoSeconds)
				cpuRate += deref(cs.CPU.UsageNanoCores)
				if cs.CPU.Time.After(at) {
					at = cs.CPU.Time.Time
				}
			}
			if cs.Memory != nil {
				memWS += deref(cs.Memory.WorkingSetBytes)
				memUsage += deref(cs.Memory.UsageBytes)
			}
			ps.Containers = append(ps.Containers, cs)
		}
		sort.Slice(ps.Containers, func(i, j int) bool { return ps.Containers[i].Name < ps.Containers[j].Name })
		if s := bySandbox[sb.Id]; s.GetLinux().GetCpu() != nil && s.GetLinux().GetMemory() != nil {
			ps.CPU = k.cpuStats("pod/"+sb.Id, s.GetLinux().GetCpu())
			ps.Memory = memoryStats(s.GetLinux().GetMemory())
		} else if len(ps.Containers) > 0 {
			ps.CPU = &statsv1alpha1.CPUStats{Time: metav1.NewTime(at), UsageCoreNanoSeconds: &cpuTotal, UsageNanoCores: &cpuRate}
			ps.Memory = &statsv1alpha1.MemoryStats{Time: metav1.NewTime(at), WorkingSetBytes: &memWS, UsageBytes: &memUsage}
		}
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PodRef.Namespace != out[j].PodRef.Namespace {
			return out[i].PodRef.Namespace < out[j].PodRef.Namespace
		}
		return out[i].PodRef.Name < out[j].PodRef.Name
	})
	k.forgetContainers(ctrs, sandboxes)
	return out, nil
}

// forgetContainers drops the CPU readings of containers and sandboxes that are gone.
func (k *Kubelet) forgetContainers(ctrs []*runtimeapi.Container, sandboxes []*runtimeapi.PodSandbox) {
	live := make(map[string]bool, len(ctrs)+len(sandboxes))
	for _, c := range ctrs {
		live[c.Id] = true
	}
	for _, s := range sandboxes {
		live["pod/"+s.Id] = true
	}
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	for id := range k.stats.ctrs {
		if !live[id] {
			delete(k.stats.ctrs, id)
		}
	}
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// Summary returns the node's stats summary: the node's CPU and memory and every running pod's
// with its containers.
func (k *Kubelet) Summary(ctx context.Context) (*statsv1alpha1.Summary, error) {
	node, err := k.nodeStats(ctx)
	if err != nil {
		return nil, err
	}
	pods, err := k.podStats(ctx)
	if err != nil {
		return nil, err
	}
	return &statsv1alpha1.Summary{Node: node, Pods: pods}, nil
}

// serveStatsSummary answers GET /stats/summary (only_cpu_and_memory=true leaves the rest out,
// as metrics-server asks it).
func (k *Kubelet) serveStatsSummary(w http.ResponseWriter, r *http.Request) {
	s, err := k.Summary(r.Context())
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to get node info: %v", err), http.StatusInternalServerError)
		return
	}
	if r.URL.Query().Get("only_cpu_and_memory") == "true" {
		s.Node.Runtime = nil
		for i := range s.Pods {
			for j := range s.Pods[i].Containers {
				s.Pods[i].Containers[j].Rootfs = nil
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}
