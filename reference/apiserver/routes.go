package apiserver

import (
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/clusterkit/clusterkit/reference/apiserver/discovery"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// request is a parsed resource request.
type request struct {
	gv        schema.GroupVersion
	res       *registry.Resource
	namespace string
	name      string
	sub       string
	watchPath bool // the legacy /watch/ path prefix
	// proxyPath is what follows NAME/proxy (sub "proxy"), escaped, "" for none.
	proxyPath string
}

func (s *Server) serveRootDiscovery(w http.ResponseWriter, r *http.Request, core bool) {
	if v := discoveryAccept(r.Header.Get("Accept")); v != "" {
		doc := discovery.Aggregated(s.registry(), core, v)
		if !core {
			s.aggregatedDiscovery(r.Context(), doc)
		}
		w.Header().Set("Vary", "Accept")
		w.Header().Set("Content-Type", discovery.AggregatedContentType(v))
		writeJSONWithType(w, http.StatusOK, doc)
		return
	}
	if core {
		writeJSON(w, http.StatusOK, discovery.APIVersions(r.Host))
		return
	}
	list := discovery.APIGroupList(s.registry())
	s.aggregatedGroups(list)
	writeJSON(w, http.StatusOK, list)
}

// writeJSONWithType writes v keeping a Content-Type already set on w.
func writeJSONWithType(w http.ResponseWriter, code int, v any) {
	ct := w.Header().Get("Content-Type")
	rec := &headerKeeper{ResponseWriter: w, contentType: ct}
	writeJSON(rec, code, v)
}

type headerKeeper struct {
	http.ResponseWriter
	contentType string
}

func (h *headerKeeper) WriteHeader(code int) {
	h.ResponseWriter.Header().Set("Content-Type", h.contentType)
	h.ResponseWriter.WriteHeader(code)
}

// serveAPI routes /api/... and /apis/... paths.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var gv schema.GroupVersion
	var rest []string
	if segs[0] == "api" {
		if len(segs) < 2 {
			writeError(w, notFoundPath())
			return
		}
		gv = schema.GroupVersion{Version: segs[1]}
		rest = segs[2:]
	} else {
		if len(segs) == 2 {
			if g := discovery.APIGroup(s.registry(), segs[1]); g != nil {
				writeJSON(w, http.StatusOK, g)
				return
			}
			if s.cfg.Aggregation != nil {
				if g := s.cfg.Aggregation.Group(segs[1]); g != nil {
					g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
					writeJSON(w, http.StatusOK, g)
					return
				}
			}
			writeError(w, notFoundPath())
			return
		}
		if len(segs) < 3 {
			writeError(w, notFoundPath())
			return
		}
		gv = schema.GroupVersion{Group: segs[1], Version: segs[2]}
		rest = segs[3:]
	}
	if len(rest) == 0 {
		if rl := discovery.ResourceList(s.registry(), gv); rl != nil {
			writeJSON(w, http.StatusOK, rl)
			return
		}
		writeError(w, notFoundPath())
		return
	}
	req := request{gv: gv}
	if rest[0] == "watch" {
		req.watchPath = true
		rest = rest[1:]
	}
	if len(rest) >= 3 && rest[0] == "namespaces" && !(len(rest) == 3 && (rest[2] == "status" || rest[2] == "finalize")) {
		req.namespace = rest[1]
		rest = rest[2:]
	}
	if p, ok := proxyPath(r, rest); ok && !req.watchPath {
		req.proxyPath, rest = p, rest[:3]
	}
	if len(rest) == 0 || len(rest) > 3 {
		writeError(w, notFoundPath())
		return
	}
	// The legacy binding collection: POST /api/v1/namespaces/NS/bindings.
	if gv.Group == "" && rest[0] == "bindings" && len(rest) == 1 && req.namespace != "" {
		if r.Method != http.MethodPost {
			writeError(w, methodNotAllowed(schema.GroupResource{Resource: "bindings"}, r.Method))
			return
		}
		s.serveBinding(w, r, req.namespace, "")
		return
	}
	req.res = s.registry().Lookup(gv.WithResource(rest[0]))
	if req.res == nil {
		writeError(w, notFoundPath())
		return
	}
	if len(rest) > 1 {
		req.name = rest[1]
	}
	if len(rest) > 2 {
		req.sub = rest[2]
	}
	if req.res.Namespaced != (req.namespace != "") && !(req.res.Namespaced && req.name == "") {
		writeError(w, notFoundPath())
		return
	}
	if req.res.Resource == "namespaces" && req.namespace != "" {
		writeError(w, notFoundPath())
		return
	}
	// A client that negotiated protobuf gets its objects, lists and errors in protobuf.
	if out, err := negotiateOutput(r.Header.Get("Accept"), req.res); err == nil && out.protobuf && protobufSubresource(req.sub) {
		w = &protobufResponse{ResponseWriter: w, s: s}
	}
	if req.sub != "" {
		if req.res.Subresource(req.sub) == nil {
			writeError(w, notFoundPath())
			return
		}
		s.serveSubresource(w, r, req)
		return
	}
	s.serveResource(w, r, req)
}

// serveResource dispatches a request on a collection or an object by method.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, req request) {
	q := r.URL.Query()
	isWatch := req.watchPath || q.Get("watch") == "true" || q.Get("watch") == "1"
	gr := req.res.GroupResource()
	// The response form is settled before anything is done: a request whose Accept header
	// names nothing this resource can produce is 406 and changes nothing.
	if _, err := negotiateOutput(r.Header.Get("Accept"), req.res); err != nil {
		writeError(w, err)
		return
	}
	if req.res.Ephemeral {
		if r.Method == http.MethodPost && req.name == "" && !req.watchPath {
			s.serveEphemeral(w, r, req)
			return
		}
		writeError(w, apierrors.NewMethodNotSupported(gr, strings.ToLower(r.Method)))
		return
	}
	if req.res.Computed {
		s.serveComputed(w, r, req, isWatch)
		return
	}
	switch {
	case r.Method == http.MethodGet && req.name == "" && isWatch:
		s.serveWatch(w, r, req)
	case req.watchPath:
		if r.Method == http.MethodGet && req.name != "" {
			// GET /watch/.../NAME watches one object.
			s.serveWatch(w, r, req)
			return
		}
		writeError(w, methodNotAllowed(gr, r.Method))
	case r.Method == http.MethodGet && req.name == "":
		s.serveList(w, r, req)
	case r.Method == http.MethodGet:
		if isWatch {
			s.serveWatch(w, r, req)
			return
		}
		s.serveGet(w, r, req)
	case r.Method == http.MethodPost && req.name == "":
		s.serveCreate(w, r, req)
	case r.Method == http.MethodPut && req.name != "":
		s.serveUpdate(w, r, req, false)
	case r.Method == http.MethodPatch && req.name != "":
		s.servePatch(w, r, req, false)
	case r.Method == http.MethodDelete && req.name != "":
		s.serveDelete(w, r, req)
	case r.Method == http.MethodDelete && req.name == "" && req.res.HasVerb("deletecollection"):
		s.serveDeleteCollection(w, r, req)
	default:
		writeError(w, apierrors.NewMethodNotSupported(gr, strings.ToLower(r.Method)))
	}
}

// serveSubresource dispatches a subresource request.
func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, req request) {
	gr := req.res.GroupResource()
	switch req.sub {
	case "status", "approval", "ephemeralcontainers", "resize":
		switch r.Method {
		case http.MethodGet:
			s.serveGet(w, r, req)
		case http.MethodPut:
			s.serveUpdate(w, r, req, true)
		case http.MethodPatch:
			s.servePatch(w, r, req, true)
		default:
			writeError(w, apierrors.NewMethodNotSupported(gr, strings.ToLower(r.Method)))
		}
	case "scale":
		s.serveScale(w, r, req)
	case "binding":
		if r.Method != http.MethodPost {
			writeError(w, apierrors.NewMethodNotSupported(gr, strings.ToLower(r.Method)))
			return
		}
		s.serveBinding(w, r, req.namespace, req.name)
	case "eviction":
		if r.Method != http.MethodPost {
			writeError(w, apierrors.NewMethodNotSupported(gr, strings.ToLower(r.Method)))
			return
		}
		s.serveEviction(w, r, req)
	case "log":
		s.serveNodeProxy(w, r, req, "containerLogs")
	case "exec", "attach":
		s.serveNodeProxy(w, r, req, req.sub)
	case "portforward":
		s.servePortForward(w, r, req)
	case "proxy":
		s.serveProxy(w, r, req)
	case "token":
		s.serveToken(w, r, req)
	case "finalize":
		if r.Method != http.MethodPut {
			writeError(w, apierrors.NewMethodNotSupported(gr, strings.ToLower(r.Method)))
			return
		}
		s.serveFinalize(w, r, req)
	default:
		writeError(w, notFoundPath())
	}
}
