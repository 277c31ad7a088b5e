package metrics

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
)

// Component is the component label of requests served by the API server itself.
const Component = "apiserver"

// requestLabels label a request as kube-apiserver's request metrics do.
var requestLabels = []string{"verb", "group", "version", "resource", "subresource", "scope", "component"}

// Metrics are one API server's metrics. Build it with New.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	longRunning *prometheus.GaugeVec
	watchers    *prometheus.GaugeVec
}

// New builds the metrics in a registry of their own, with the Go runtime and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, group, version, resource, subresource, scope, component, and HTTP response code.",
		}, append(append([]string{}, requestLabels...), "code")),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds",
			Help: "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
			// kube-apiserver's buckets.
			Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, requestLabels),
		longRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, subresource, scope and component.",
		}, requestLabels),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of currently registered watchers for a given resource.",
		}, []string{"group", "version", "resource"}),
	}
	m.registry.MustRegister(m.requests, m.durations, m.longRunning, m.watchers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the metrics are registered; callers may add their own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus text exposition format (or OpenMetrics when
// asked for).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Instrument wraps next so that every request is counted and timed. It reads the
// RequestInfo that k8s.io/apiserver's WithRequestInfo filter put in the context, so it goes
// inside that filter.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, _ := genericrequest.RequestInfoFrom(r.Context())
		labels := requestLabelValues(r, info)
		if isLongRunning(info) {
			g := m.longRunning.WithLabelValues(labels...)
			g.Inc()
			defer g.Dec()
			if info.Verb == "watch" {
				wg := m.watchers.WithLabelValues(info.APIGroup, info.APIVersion, info.Resource)
				wg.Inc()
				defer wg.Dec()
			}
		}
		start := time.Now()
		rw := &statusRecorder{ResponseWriter: w}
		defer func() {
			code := rw.code
			if code == 0 {
				code = http.StatusOK
			}
			m.requests.WithLabelValues(append(labels, strconv.Itoa(code))...).Inc()
			m.durations.WithLabelValues(labels...).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rw, r)
	})
}

// requestLabelValues are the values of requestLabels, as kube-apiserver's CleanVerb and
// CleanScope compute them: LIST, WATCH, APPLY and CONNECT besides the HTTP methods; scope
// resource (a named object, or a create), namespace, cluster, or "" for a non-resource path.
func requestLabelValues(r *http.Request, info *genericrequest.RequestInfo) []string {
	verb := strings.ToUpper(r.Method)
	if info == nil || !info.IsResourceRequest {
		return []string{verb, "", "", "", "", "", Component}
	}
	switch info.Verb {
	case "list":
		verb = "LIST"
	case "watch":
		verb = "WATCH"
	}
	if verb == http.MethodPatch && strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch") {
		verb = "APPLY"
	}
	switch info.Subresource {
	case "exec", "attach", "portforward", "proxy":
		verb = "CONNECT"
	}
	scope := "cluster"
	switch {
	case info.Name != "" || info.Verb == "create":
		scope = "resource"
	case info.Namespace != "":
		scope = "namespace"
	}
	return []string{verb, info.APIGroup, info.APIVersion, info.Resource, info.Subresource, scope, Component}
}

// isLongRunning is kube-apiserver's long-running request check: watches and proxies, and the
// streaming subresources.
func isLongRunning(info *genericrequest.RequestInfo) bool {
	if info == nil || !info.IsResourceRequest {
		return false
	}
	if info.Verb == "watch" || info.Verb == "proxy" {
		return true
	}
	switch info.Subresource {
	case "attach", "exec", "proxy", "log", "portforward":
		return true
	}
	return false
}

// statusRecorder remembers the status code written, and passes Flush and Hijack through
// (watches flush; exec, attach and port-forward upgrade the connection).
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("metrics: the response writer cannot be hijacked")
	}
	if s.code == 0 {
		s.code = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
