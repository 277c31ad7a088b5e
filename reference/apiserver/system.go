package apiserver

import (
	"net/http"
	"sort"
)

// serveRootPaths lists the served paths at "/", as kube-apiserver does.
func (s *Server) serveRootPaths(w http.ResponseWriter) {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/readyz", "/version"}
	for _, gv := range s.registry().GroupVersions() {
		if gv.Group != "" {
			paths = append(paths, "/apis/"+gv.Group, "/apis/"+gv.Group+"/"+gv.Version)
		}
	}
	sort.Strings(paths)
	writeJSON(w, http.StatusOK, map[string][]string{"paths": paths})
}
