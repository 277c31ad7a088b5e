package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// MetricsAPI: the cluster serves metrics.k8s.io/v1beta1 (metrics-server, or an API server
// serving it itself) from its kubelets' figures.
const MetricsAPI Capability = "MetricsAPI"

const (
	srcKubeletStats = "Kubernetes: Node metrics data (the kubelet's /stats/summary and /metrics/resource endpoints) and Resource metrics pipeline"
	srcMetricsAPI   = "Kubernetes: Resource metrics pipeline (metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics, kubectl top)"
)

// kubeletStatsSpecs are the specs of the kubelet's resource usage endpoints and of the
// metrics API built on them.
func kubeletStatsSpecs() []spec[*kubeletEnv] {
	podMetrics := kubeletBehavior("kubelet.metrics-api.pod",
		"metrics.k8s.io/v1beta1 MUST serve a running pod's PodMetrics — by name, in its namespace's list and in a list by its labels — naming each of its containers with cpu and memory usage (memory > 0), a timestamp and a window",
		srcMetricsAPI)
	podMetrics.Needs = []Capability{MetricsAPI}
	nodeMetrics := kubeletBehavior("kubelet.metrics-api.node",
		"metrics.k8s.io/v1beta1 MUST serve the node's NodeMetrics, by name and in the list, with cpu and memory usage (memory > 0), a timestamp and a window",
		srcMetricsAPI)
	nodeMetrics.Needs = []Capability{MetricsAPI}
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.stats.summary",
			"the kubelet's /stats/summary MUST report the node's cumulative CPU (usageCoreNanoSeconds > 0) and memory working set (> 0), and every running pod with each of its running containers by name, each container with its CPU and a memory working set > 0",
			srcKubeletStats), specStatsSummary},
		{kubeletBehavior("kubelet.stats.metrics-resource",
			"the kubelet's /metrics/resource MUST serve Prometheus text with node_cpu_usage_seconds_total and node_memory_working_set_bytes, and container_cpu_usage_seconds_total and container_memory_working_set_bytes for each running container labelled with its container, namespace and pod, every sample with a timestamp",
			srcKubeletStats), specStatsMetricsResource},
		{kubeletBehavior("kubelet.stats.authorized",
			"the kubelet MUST refuse /stats/summary and /metrics/resource with 401 to callers without credentials and with 403 to a ServiceAccount granted neither nodes/stats nor nodes/metrics",
			srcKubeletAuth), specStatsAuthorized},
		{podMetrics, specMetricsAPIPod},
		{nodeMetrics, specMetricsAPINode},
	}
}

// statsPod starts a pod of two long-running containers, a and b, labelled app=NAME, and waits
// until it runs.
func (e *kubeletEnv) statsPod(ctx context.Context, g gomega.Gomega, name string) {
	p := e.testPod(name, "serve-hostname", "--port", "8080")
	p.Labels = map[string]string{"app": name}
	p.Spec.Containers[0].Name = "a"
	b := p.Spec.Containers[0]
	b.Name, b.Args = "b", []string{"serve-hostname", "--port", "8081"}
	p.Spec.Containers = append(p.Spec.Containers, b)
	e.create(ctx, g, p)
	e.waitPod(ctx, g, name, "Running", startTimeout, isRunning)
}

// getKubelet reads path from the node's kubelet API with the administrator's credentials.
func (e *kubeletEnv) getKubelet(ctx context.Context, g gomega.Gomega, path string) kubeletCall {
	client, err := kubeletHTTPClient(e.k.Config)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	call, err := callKubelet(ctx, client, e.kubeletEndpoint(ctx, g), http.MethodGet, path, nil)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "reaching the kubelet API")
	return call
}

func positive(p *uint64) bool { return p != nil && *p > 0 }

// checkSummary is what specStatsSummary requires of a summary, as an error.
func (e *kubeletEnv) checkSummary(s *statsv1alpha1.Summary, pod string) error {
	n := s.Node
	if n.CPU == nil || !positive(n.CPU.UsageCoreNanoSeconds) {
		return fmt.Errorf("node %q: no cumulative CPU usage (cpu %+v)", n.NodeName, n.CPU)
	}
	if n.Memory == nil || !positive(n.Memory.WorkingSetBytes) {
		return fmt.Errorf("node %q: no memory working set (memory %+v)", n.NodeName, n.Memory)
	}
	for _, p := range s.Pods {
		if p.PodRef.Namespace != e.ns || p.PodRef.Name != pod {
			continue
		}
		seen := map[string]bool{}
		for _, c := range p.Containers {
			if c.CPU == nil || c.CPU.UsageCoreNanoSeconds == nil {
				return fmt.Errorf("container %s of pod %s: no CPU usage", c.Name, pod)
			}
			if c.Memory == nil || !positive(c.Memory.WorkingSetBytes) {
				return fmt.Errorf("container %s of pod %s: no memory working set (memory %+v)", c.Name, pod, c.Memory)
			}
			seen[c.Name] = true
		}
		if !seen["a"] || !seen["b"] {
			return fmt.Errorf("pod %s lists containers %v, want a and b", pod, seen)
		}
		return nil
	}
	return fmt.Errorf("pod %s/%s is not in the summary", e.ns, pod)
}

func specStatsSummary(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.statsPod(ctx, g, "summarized")
	g.Eventually(func() error {
		call := e.getKubelet(ctx, g, "/stats/summary")
		if call.Status != http.StatusOK {
			return fmt.Errorf("%s: %d %q", call.What, call.Status, call.Body)
		}
		var s statsv1alpha1.Summary
		if err := json.Unmarshal([]byte(call.Body), &s); err != nil {
			return fmt.Errorf("%s: not a Summary: %w", call.What, err)
		}
		return e.checkSummary(&s, "summarized")
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(time.Second).Should(gomega.Succeed(),
		"the kubelet's /stats/summary must report the node and the running pod's containers")
}

// parseMetrics parses Prometheus text.
func parseMetrics(body string) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	// callKubelet trims the body; the text format ends with a newline.
	return p.TextToMetricFamilies(strings.NewReader(body + "\n"))
}

// hasSample reports whether the family has a timestamped sample whose labels include want.
func hasSample(f *dto.MetricFamily, want map[string]string) bool {
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		ok := m.TimestampMs != nil
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

func specStatsMetricsResource(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.statsPod(ctx, g, "scraped")
	g.Eventually(func() error {
		call := e.getKubelet(ctx, g, "/metrics/resource")
		if call.Status != http.StatusOK {
			return fmt.Errorf("%s: %d %q", call.What, call.Status, call.Body)
		}
		fams, err := parseMetrics(call.Body)
		if err != nil {
			return fmt.Errorf("%s: not Prometheus text: %w", call.What, err)
		}
		for _, name := range []string{"node_cpu_usage_seconds_total", "node_memory_working_set_bytes"} {
			if f := fams[name]; f == nil || !hasSample(f, nil) {
				return fmt.Errorf("no timestamped %s sample", name)
			}
		}
		for _, name := range []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes"} {
			for _, c := range []string{"a", "b"} {
				want := map[string]string{"container": c, "namespace": e.ns, "pod": "scraped"}
				if f := fams[name]; f == nil || !hasSample(f, want) {
					return fmt.Errorf("no timestamped %s sample for %v", name, want)
				}
			}
		}
		return nil
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(time.Second).Should(gomega.Succeed(),
		"the kubelet's /metrics/resource must have the node's and the running containers' samples")
}

func specStatsAuthorized(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	base := e.kubeletEndpoint(ctx, g)
	anon, err := kubeletHTTPClient(nil)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	sa := e.unboundServiceAccountClient(ctx, g, base.String())
	for _, path := range []string{"/stats/summary", "/metrics/resource"} {
		call, err := callKubelet(ctx, anon, base, http.MethodGet, path, nil)
		g.Expect(err).NotTo(gomega.HaveOccurred(), "reaching the kubelet API at %s", base)
		g.Expect(call.Status).To(gomega.Equal(http.StatusUnauthorized), "%s without credentials must be refused with 401; got %d %q", call.What, call.Status, call.Body)
		call, err = callKubelet(ctx, sa, base, http.MethodGet, path, nil)
		g.Expect(err).NotTo(gomega.HaveOccurred(), "reaching the kubelet API at %s", base)
		g.Expect(call.Status).To(gomega.Equal(http.StatusForbidden), "%s by a ServiceAccount without nodes/stats or nodes/metrics must be forbidden with 403; got %d %q", call.What, call.Status, call.Body)
	}
	admin := e.getKubelet(ctx, g, "/stats/summary")
	g.Expect(admin.Status).To(gomega.Equal(http.StatusOK), "the cluster administrator must read %s; got %d %q", admin.What, admin.Status, admin.Body)
}

// metricsClient is a metrics.k8s.io client with the administrator's credentials.
func (e *kubeletEnv) metricsClient(g gomega.Gomega) metricsclient.Interface {
	c, err := metricsclient.NewForConfig(e.k.Config)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	return c
}

// checkPodMetrics is what specMetricsAPIPod requires of one PodMetrics, as an error.
func checkPodMetrics(m *metricsv1beta1.PodMetrics) error {
	if m.Timestamp.IsZero() || m.Window.Duration <= 0 {
		return fmt.Errorf("PodMetrics %s: timestamp %v, window %v", m.Name, m.Timestamp, m.Window.Duration)
	}
	seen := map[string]bool{}
	for _, c := range m.Containers {
		cpu, okCPU := c.Usage[corev1.ResourceCPU]
		mem, okMem := c.Usage[corev1.ResourceMemory]
		if !okCPU || !okMem || mem.Sign() <= 0 || cpu.Sign() < 0 {
			return fmt.Errorf("PodMetrics %s: container %s usage %v", m.Name, c.Name, c.Usage)
		}
		seen[c.Name] = true
	}
	if !seen["a"] || !seen["b"] {
		return fmt.Errorf("PodMetrics %s names containers %v, want a and b", m.Name, seen)
	}
	return nil
}

func specMetricsAPIPod(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.statsPod(ctx, g, "measured")
	pods := e.metricsClient(g).MetricsV1beta1().PodMetricses(e.ns)
	g.Eventually(func() error {
		m, err := pods.Get(ctx, "measured", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("getting PodMetrics measured: %w", err)
		}
		if err := checkPodMetrics(m); err != nil {
			return err
		}
		for _, opts := range []metav1.ListOptions{{}, {LabelSelector: "app=measured"}} {
			list, err := pods.List(ctx, opts)
			if err != nil {
				return fmt.Errorf("listing PodMetrics (%q): %w", opts.LabelSelector, err)
			}
			found := false
			for i := range list.Items {
				if list.Items[i].Name == "measured" {
					found = true
					if err := checkPodMetrics(&list.Items[i]); err != nil {
						return err
					}
				}
			}
			if !found {
				return fmt.Errorf("PodMetrics measured is not in the list (%q) of namespace %s", opts.LabelSelector, e.ns)
			}
		}
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "app=other"})
		if err != nil {
			return fmt.Errorf("listing PodMetrics by app=other: %w", err)
		}
		for _, m := range list.Items {
			if m.Name == "measured" {
				return fmt.Errorf("PodMetrics measured is listed for the selector app=other")
			}
		}
		return nil
	}).WithContext(ctx).WithTimeout(90*time.Second).WithPolling(2*time.Second).Should(gomega.Succeed(),
		"metrics.k8s.io must serve the running pod's metrics with its containers")
}

func checkNodeMetrics(m *metricsv1beta1.NodeMetrics) error {
	cpu, okCPU := m.Usage[corev1.ResourceCPU]
	mem, okMem := m.Usage[corev1.ResourceMemory]
	if !okCPU || !okMem || mem.Sign() <= 0 || cpu.Sign() < 0 {
		return fmt.Errorf("NodeMetrics %s: usage %v", m.Name, m.Usage)
	}
	if m.Timestamp.IsZero() || m.Window.Duration <= 0 {
		return fmt.Errorf("NodeMetrics %s: timestamp %v, window %v", m.Name, m.Timestamp, m.Window.Duration)
	}
	return nil
}

func specMetricsAPINode(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	nodes := e.metricsClient(g).MetricsV1beta1().NodeMetricses()
	g.Eventually(func() error {
		m, err := nodes.Get(ctx, e.k.Node, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("getting NodeMetrics %s: %w", e.k.Node, err)
		}
		if err := checkNodeMetrics(m); err != nil {
			return err
		}
		list, err := nodes.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing NodeMetrics: %w", err)
		}
		for i := range list.Items {
			if list.Items[i].Name == e.k.Node {
				return checkNodeMetrics(&list.Items[i])
			}
		}
		return fmt.Errorf("NodeMetrics %s is not in the list", e.k.Node)
	}).WithContext(ctx).WithTimeout(90*time.Second).WithPolling(2*time.Second).Should(gomega.Succeed(),
		"metrics.k8s.io must serve the node's metrics")
}
