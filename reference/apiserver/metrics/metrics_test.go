package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
)

func TestRequestLabels(t *testing.T) {
	cases := []struct {
		method, ctype string
		info          *genericrequest.RequestInfo
		want          string
	}{
		{"GET", "", &genericrequest.RequestInfo{IsResourceRequest: true, Verb: "list", APIVersion: "v1", Resource: "pods", Namespace: "ns"}, "LIST,,v1,pods,,namespace"},
		{"GET", "", &genericrequest.RequestInfo{IsResourceRequest: true, Verb: "watch", APIGroup: "apps", APIVersion: "v1", Resource: "deployments"}, "WATCH,apps,v1,deployments,,cluster"},
		{"POST", "", &genericrequest.RequestInfo{IsResourceRequest: true, Verb: "create", APIVersion: "v1", Resource: "configmaps", Namespace: "ns"}, "POST,,v1,configmaps,,resource"},
		{"PATCH", "application/apply-patch+yaml", &genericrequest.RequestInfo{IsResourceRequest: true, Verb: "patch", APIVersion: "v1", Resource: "configmaps", Namespace: "ns", Name: "a"}, "APPLY,,v1,configmaps,,resource"},
		{"POST", "", &genericrequest.RequestInfo{IsResourceRequest: true, Verb: "create", APIVersion: "v1", Resource: "pods", Subresource: "exec", Namespace: "ns", Name: "p"}, "CONNECT,,v1,pods,exec,resource"},
		{"GET", "", &genericrequest.RequestInfo{Path: "/healthz"}, "GET,,,,,"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "/", nil)
		r.Header.Set("Content-Type", c.ctype)
		got := strings.Join(requestLabelValues(r, c.info)[:6], ",")
		if got != c.want {
			t.Errorf("%s %+v: %s, want %s", c.method, c.info, got, c.want)
		}
	}
}

func TestInstrumentCountsAndGauges(t *testing.T) {
	m := New()
	inWatch := make(chan struct{})
	release := make(chan struct{})
	h := m.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, _ := genericrequest.RequestInfoFrom(r.Context()); info.Verb == "watch" {
			close(inWatch)
			<-release
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	serve := func(info *genericrequest.RequestInfo, method string) {
		r := httptest.NewRequest(method, "/", nil)
		r = r.WithContext(genericrequest.WithRequestInfo(r.Context(), info))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	serve(&genericrequest.RequestInfo{IsResourceRequest: true, Verb: "create", APIVersion: "v1", Resource: "configmaps", Namespace: "ns"}, "POST")
	if got := testutil.ToFloat64(m.requests.WithLabelValues("POST", "", "v1", "configmaps", "", "resource", Component, "201")); got != 1 {
		t.Errorf("apiserver_request_total of the create = %v, want 1", got)
	}
	watch := &genericrequest.RequestInfo{IsResourceRequest: true, Verb: "watch", APIVersion: "v1", Resource: "pods"}
	done := make(chan struct{})
	go func() { serve(watch, "GET"); close(done) }()
	<-inWatch
	if got := testutil.ToFloat64(m.watchers.WithLabelValues("", "v1", "pods")); got != 1 {
		t.Errorf("registered watchers during a watch = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.longRunning.WithLabelValues("WATCH", "", "v1", "pods", "", "cluster", Component)); got != 1 {
		t.Errorf("long-running requests during a watch = %v, want 1", got)
	}
	close(release)
	<-done
	if got := testutil.ToFloat64(m.watchers.WithLabelValues("", "v1", "pods")); got != 0 {
		t.Errorf("registered watchers after the watch = %v, want 0", got)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `apiserver_request_total{code="201"`) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("/metrics: %s\n%s", rec.Header().Get("Content-Type"), rec.Body.String()[:200])
	}
}
