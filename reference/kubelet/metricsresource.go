package kubelet

import (
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"
)

// serveMetricsResource answers GET /metrics/resource: the summary's CPU and memory figures in
// the Prometheus text format, with the names, help and labels of the real kubelet's resource
// metrics endpoint and each sample's timestamp (when it was read).
func (k *Kubelet) serveMetricsResource(w http.ResponseWriter, r *http.Request) {
	families := resourceFamilies()
	s, err := k.Summary(r.Context())
	scrapeError := 0.0
	if err != nil {
		k.logf("resource metrics: %v", err)
		scrapeError = 1
	} else {
		addResourceSamples(families, s)
	}
	families["resource_scrape_error"].Metric = []*dto.Metric{{Gauge: &dto.Gauge{Value: ptr.To(scrapeError)}}}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	for _, name := range resourceMetricNames {
		if len(families[name].Metric) == 0 {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(w, families[name]); err != nil {
			return
		}
	}
}

// resourceMetricNames are the families of /metrics/resource, in the order written.
var resourceMetricNames = []string{
	"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_start_time_seconds",
	"node_cpu_usage_seconds_total", "node_memory_working_set_bytes",
	"pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes",
	"resource_scrape_error",
}

// resourceFamilies returns the families of /metrics/resource without samples.
func resourceFamilies() map[string]*dto.MetricFamily {
	fam := func(name, help string, t dto.MetricType) *dto.MetricFamily {
		return &dto.MetricFamily{Name: ptr.To(name), Help: ptr.To(help), Type: t.Enum()}
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range []*dto.MetricFamily{
		fam("container_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the container in core-seconds", dto.MetricType_COUNTER),
		fam("container_memory_working_set_bytes", "[STABLE] Current working set of the container in bytes", dto.MetricType_GAUGE),
		fam("container_start_time_seconds", "[STABLE] Start time of the container since unix epoch in seconds", dto.MetricType_GAUGE),
		fam("node_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the node in core-seconds", dto.MetricType_COUNTER),
		fam("node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes", dto.MetricType_GAUGE),
		fam("pod_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", dto.MetricType_COUNTER),
		fam("pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes", dto.MetricType_GAUGE),
		fam("resource_scrape_error", "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", dto.MetricType_GAUGE),
	} {
		out[f.GetName()] = f
	}
	return out
}

func labelPairs(kv ...string) []*dto.LabelPair {
	out := make([]*dto.LabelPair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &dto.LabelPair{Name: ptr.To(kv[i]), Value: ptr.To(kv[i+1])})
	}
	return out
}

// addResourceSamples fills the families from a summary.
func addResourceSamples(families map[string]*dto.MetricFamily, s *statsv1alpha1.Summary) {
	add := func(name string, labels []*dto.LabelPair, v float64, at metav1.Time) {
		m := &dto.Metric{Label: labels, TimestampMs: ptr.To(at.UnixMilli())}
		if families[name].GetType() == dto.MetricType_COUNTER {
			m.Counter = &dto.Counter{Value: ptr.To(v)}
		} else {
			m.Gauge = &dto.Gauge{Value: ptr.To(v)}
		}
		families[name].Metric = append(families[name].Metric, m)
	}
	cpuSeconds := func(c *statsv1alpha1.CPUStats) (float64, bool) {
		if c == nil || c.UsageCoreNanoSeconds == nil {
			return 0, false
		}
		return float64(*c.UsageCoreNanoSeconds) / 1e9, true
	}
	workingSet := func(m *statsv1alpha1.MemoryStats) (float64, bool) {
		if m == nil || m.WorkingSetBytes == nil {
			return 0, false
		}
		return float64(*m.WorkingSetBytes), true
	}
	if v, ok := cpuSeconds(s.Node.CPU); ok {
		add("node_cpu_usage_seconds_total", nil, v, s.Node.CPU.Time)
	}
	if v, ok := workingSet(s.Node.Memory); ok {
		add("node_memory_working_set_bytes", nil, v, s.Node.Memory.Time)
	}
	for _, p := range s.Pods {
		pl := labelPairs("namespace", p.PodRef.Namespace, "pod", p.PodRef.Name)
		if v, ok := cpuSeconds(p.CPU); ok {
			add("pod_cpu_usage_seconds_total", pl, v, p.CPU.Time)
		}
		if v, ok := workingSet(p.Memory); ok {
			add("pod_memory_working_set_bytes", pl, v, p.Memory.Time)
		}
		for _, c := range p.Containers {
			cl := labelPairs("container", c.Name, "namespace", p.PodRef.Namespace, "pod", p.PodRef.Name)
			if v, ok := cpuSeconds(c.CPU); ok {
				add("container_cpu_usage_seconds_total", cl, v, c.CPU.Time)
			}
			if v, ok := workingSet(c.Memory); ok {
				add("container_memory_working_set_bytes", cl, v, c.Memory.Time)
			}
			add("container_start_time_seconds", cl, float64(c.StartTime.UnixNano())/1e9, c.StartTime)
		}
	}
}
