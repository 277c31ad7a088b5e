package openapi

import (
	"net/http"
	"strings"
)

const v3Prefix = "/openapi/v3"

// Handler serves /openapi/v3 (the index) and /openapi/v3/<path> (one
// group-version document) as application/json with an ETag. A document
// requested with a stale ?hash= is redirected to its current URL, as
// Kubernetes does; one requested with the current hash may be cached forever.
func (d *Documents) Handler() http.Handler {
	return http.HandlerFunc(d.serve)
}

func (d *Documents) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, v3Prefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		http.NotFound(w, r)
		return
	}
	path := strings.Trim(rest, "/")
	if path == "" {
		writeJSON(w, r, d.index, d.indexHash, false)
		return
	}
	body, hash, found := d.GroupVersion(path)
	if !found {
		http.NotFound(w, r)
		return
	}
	if want := r.URL.Query().Get("hash"); want != "" && want != hash {
		w.Header().Set("Location", v3Prefix+"/"+path+"?hash="+hash)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	writeJSON(w, r, body, hash, r.URL.Query().Get("hash") != "")
}

func writeJSON(w http.ResponseWriter, r *http.Request, body []byte, hash string, immutable bool) {
	etag := `"` + hash + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Content-Type", "application/json")
	if immutable {
		h.Set("Cache-Control", "public, immutable, max-age=31536000")
	} else {
		h.Set("Cache-Control", "no-cache, private")
	}
	if match := r.Header.Get("If-None-Match"); match != "" {
		for _, m := range strings.Split(match, ",") {
			if m = strings.TrimSpace(m); m == etag || m == "*" {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
