package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// metrics.k8s.io/v1beta1, served by the API server itself rather than by metrics-server
// behind an APIService: NodeMetrics and PodMetrics are computed when asked from each kubelet's
// /stats/summary (reached as pods/log is, through Config.NodeConnection), so they are as fresh
// as the kubelet's figures. CPU is the kubelet's usageNanoCores (a rate over its last
// interval of up to metricsWindow), memory the working set. A node whose kubelet does not
// answer, and a pod it does not report, are left out of lists and not found by name, as
// metrics-server leaves out what it could not scrape.

const (
	// metricsWindow is the window NodeMetrics and PodMetrics report: the longest interval
	// the kubelet's CPU rates are computed over (its stats window).
	metricsWindow = 10 * time.Second
	// summaryTimeout bounds one kubelet's answer (metrics-server's --kubelet-request-timeout).
	summaryTimeout = 10 * time.Second
)

// computedFunc answers a get (name set) or a list of a computed resource
// (registry.Resource.Computed) with the objects it computes; q holds the request's selectors.
type computedFunc func(ctx context.Context, namespace, name string, q url.Values) ([]runtime.Object, error)

// computedHandlers returns the function answering each computed resource.
func (s *Server) computedHandlers() map[schema.GroupResource]computedFunc {
	return map[schema.GroupResource]computedFunc{
		metricsv1beta1.SchemeGroupVersion.WithResource("nodes").GroupResource(): s.nodeMetrics,
		metricsv1beta1.SchemeGroupVersion.WithResource("pods").GroupResource():  s.podMetrics,
	}
}

// serveComputed answers GET on a computed resource: an object (404 when nothing is computed
// for the name) or a list; anything else is 405.
func (s *Server) serveComputed(w http.ResponseWriter, r *http.Request, req request, watch bool) {
	gr := req.res.GroupResource()
	if r.Method != http.MethodGet || watch {
		verb := strings.ToLower(r.Method)
		if watch {
			verb = "watch"
		}
		writeError(w, apierrors.NewMethodNotSupported(gr, verb))
		return
	}
	fn := s.computedHandlers()[gr]
	if fn == nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("no handler for %s", gr)))
		return
	}
	objs, err := fn(r.Context(), req.namespace, req.name, r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	if req.name != "" {
		if len(objs) == 0 {
			writeError(w, apierrors.NewNotFound(gr, req.name))
			return
		}
		s.writeObject(w, r, req.res, http.StatusOK, objs[0])
		return
	}
	out, err := negotiateOutput(r.Header.Get("Accept"), req.res)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := s.render(r, req.res, out, objs, true, metav1.ListMeta{})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listForMetrics lists the core objects of resource in namespace (name: only that one)
// matching the request's label and field selectors.
func (s *Server) listForMetrics(ctx context.Context, resourceName, namespace, name string, q url.Values) ([]runtime.Object, error) {
	res := s.registry().Lookup(corev1.SchemeGroupVersion.WithResource(resourceName))
	if name != "" {
		obj, err := s.objects.Get(ctx, res, namespace, name)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []runtime.Object{obj}, nil
	}
	m, err := parseMatcher(res, q)
	if err != nil {
		return nil, err
	}
	lr, err := s.objects.List(ctx, res, namespace, storage.ListOptions{Filter: m.filter()})
	if err != nil {
		return nil, err
	}
	return lr.Items, nil
}

// kubeletSummaries asks the kubelets of the named nodes for their summaries, in parallel; a
// node whose kubelet does not answer is missing from the result.
func (s *Server) kubeletSummaries(ctx context.Context, nodes []*corev1.Node) map[string]*statsv1alpha1.Summary {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]*statsv1alpha1.Summary{}
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum, err := s.kubeletSummary(ctx, n)
			if err != nil {
				return
			}
			mu.Lock()
			out[n.Name] = sum
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// kubeletSummary reads node's /stats/summary (only CPU and memory).
func (s *Server) kubeletSummary(ctx context.Context, node *corev1.Node) (*statsv1alpha1.Summary, error) {
	base, rt, err := s.cfg.NodeConnection.KubeletLocation(ctx, node)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, summaryTimeout)
	defer cancel()
	u := *base
	u.Path, u.RawQuery = "/stats/summary", "only_cpu_and_memory=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("node %s: /stats/summary: %d %s", node.Name, resp.StatusCode, b)
	}
	var sum statsv1alpha1.Summary
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&sum); err != nil {
		return nil, fmt.Errorf("node %s: decoding /stats/summary: %w", node.Name, err)
	}
	return &sum, nil
}

// usage is a CPU and memory ResourceList as metrics-server writes it: CPU in nanocores, memory
// in bytes; ok is false when either is missing.
func usage(cpu *statsv1alpha1.CPUStats, mem *statsv1alpha1.MemoryStats) (corev1.ResourceList, time.Time, bool) {
	if cpu == nil || cpu.UsageNanoCores == nil || mem == nil || mem.WorkingSetBytes == nil {
		return nil, time.Time{}, false
	}
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewScaledQuantity(int64(*cpu.UsageNanoCores), -9),
		corev1.ResourceMemory: *resource.NewQuantity(int64(*mem.WorkingSetBytes), resource.BinarySI),
	}, cpu.Time.Time, true
}

// nodeMetrics computes NodeMetrics of the nodes asked for.
func (s *Server) nodeMetrics(ctx context.Context, _, name string, q url.Values) ([]runtime.Object, error) {
	objs, err := s.listForMetrics(ctx, "nodes", "", name, q)
	if err != nil {
		return nil, err
	}
	nodes := make([]*corev1.Node, 0, len(objs))
	for _, o := range objs {
		nodes = append(nodes, o.(*corev1.Node))
	}
	sums := s.kubeletSummaries(ctx, nodes)
	now := metav1.NewTime(s.now())
	out := make([]runtime.Object, 0, len(nodes))
	for _, n := range nodes {
		sum := sums[n.Name]
		if sum == nil {
			continue
		}
		u, at, ok := usage(sum.Node.CPU, sum.Node.Memory)
		if !ok {
			continue
		}
		out = append(out, &metricsv1beta1.NodeMetrics{
			TypeMeta:   metav1.TypeMeta{APIVersion: metricsv1beta1.SchemeGroupVersion.String(), Kind: "NodeMetrics"},
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, CreationTimestamp: now},
			Timestamp:  metav1.NewTime(at),
			Window:     metav1.Duration{Duration: metricsWindow},
			Usage:      u,
		})
	}
	return out, nil
}

// podMetrics computes PodMetrics of the pods asked for: those bound to a node whose kubelet
// reports them with their containers.
func (s *Server) podMetrics(ctx context.Context, namespace, name string, q url.Values) ([]runtime.Object, error) {
	objs, err := s.listForMetrics(ctx, "pods", namespace, name, q)
	if err != nil {
		return nil, err
	}
	nodeRes := s.registry().Lookup(corev1.SchemeGroupVersion.WithResource("nodes"))
	var nodes []*corev1.Node
	seen := map[string]bool{}
	for _, o := range objs {
		p := o.(*corev1.Pod)
		if p.Spec.NodeName == "" || seen[p.Spec.NodeName] {
			continue
		}
		seen[p.Spec.NodeName] = true
		n, err := s.objects.Get(ctx, nodeRes, "", p.Spec.NodeName)
		if err != nil {
			continue
		}
		nodes = append(nodes, n.(*corev1.Node))
	}
	sums := s.kubeletSummaries(ctx, nodes)
	type podKey struct{ namespace, name, uid string }
	stats := map[podKey]*statsv1alpha1.PodStats{}
	for _, sum := range sums {
		for i := range sum.Pods {
			ref := sum.Pods[i].PodRef
			stats[podKey{ref.Namespace, ref.Name, ref.UID}] = &sum.Pods[i]
		}
	}
	now := metav1.NewTime(s.now())
	out := make([]runtime.Object, 0, len(objs))
	for _, o := range objs {
		p := o.(*corev1.Pod)
		ps := stats[podKey{p.Namespace, p.Name, string(p.UID)}]
		if ps == nil || len(ps.Containers) == 0 {
			continue
		}
		m := &metricsv1beta1.PodMetrics{
			TypeMeta:   metav1.TypeMeta{APIVersion: metricsv1beta1.SchemeGroupVersion.String(), Kind: "PodMetrics"},
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, CreationTimestamp: now},
			Window:     metav1.Duration{Duration: metricsWindow},
		}
		complete := true
		var latest time.Time
		for _, c := range ps.Containers {
			u, at, ok := usage(c.CPU, c.Memory)
			if !ok {
				complete = false
				break
			}
			if at.After(latest) {
				latest = at
			}
			m.Containers = append(m.Containers, metricsv1beta1.ContainerMetrics{Name: c.Name, Usage: u})
		}
		if !complete {
			continue
		}
		sort.Slice(m.Containers, func(i, j int) bool { return m.Containers[i].Name < m.Containers[j].Name })
		m.Timestamp = metav1.NewTime(latest)
		out = append(out, m)
	}
	return out, nil
}
