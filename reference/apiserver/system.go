package apiserver

import (
	"context"
	"net/http"
	"sort"
	"time"
)

// serveHealth answers /healthz, /livez and /readyz; readiness also checks the store.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request, ready bool) {
	if ready {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := s.cfg.Store.CurrentRevision(ctx); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("[-]etcd failed: " + err.Error() + "\nreadyz check failed\n"))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.URL.Query().Has("verbose") {
		_, _ = w.Write([]byte("[+]ping ok\n[+]etcd ok\nhealthz check passed\n"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// serveRootPaths lists the served paths at "/", as kube-apiserver does.
func (s *Server) serveRootPaths(w http.ResponseWriter) {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/readyz", "/version"}
	for _, gv := range s.registry().GroupVersions() {
		if gv.Group != "" {
			paths = append(paths, "/apis/"+gv.Group, "/apis/"+gv.Group+"/"+gv.Version)
		}
	}
	sort.Strings(paths)
	writeJSON(w, http.StatusOK, map[string][]string{"paths": paths})
}
