package knownbad

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/version"
)

// APIVersionFieldsDisagreeing wraps an API server so that /version reports a gitVersion its
// major and minor fields disagree with (the fields of one release, the gitVersion of
// another, as a server whose version is pinned by hand drifts).
func APIVersionFieldsDisagreeing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") != "/version" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.33.0","gitCommit":"clusterkit","gitTreeState":"","buildDate":"","goVersion":"go1.26","compiler":"gc","platform":"linux/amd64"}`))
	})
}

// APIHealthWithoutChecks wraps an API server so that /livez and /readyz, and every path under
// them, answer a bare "ok": no list of checks, no individual checks.
func APIHealthWithoutChecks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/livez" || p == "/readyz" || strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// APIMetricsFrozen wraps an API server so that /metrics answers a well-formed exposition whose
// apiserver_request_total never moves: requests are not counted.
func APIMetricsFrozen(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") != "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte("# HELP apiserver_request_total Counter of apiserver requests.\n# TYPE apiserver_request_total counter\n" +
			`apiserver_request_total{code="201",component="apiserver",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 1` + "\n"))
	})
}

// KubeletNewerThanAPIServer configures the kubelet to report a kubeletVersion one minor newer
// than the build's (and so the API server's), as a kubelet upgraded before its control plane:
// the version skew policy forbids it.
func KubeletNewerThanAPIServer(c *kubelet.Config) {
	major, minor, _ := version.MajorMinor(version.Get().GitVersion)
	c.Version = fmt.Sprintf("v%d.%d.0", major, minor+1)
}
