package knownbad

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
)

// replacedOnUpdate are the resources whose updates APIReplacingOnUpdate turns into a delete
// and a create.
var replacedOnUpdate = []string{"persistentvolumes", "persistentvolumeclaims", "storageclasses", "csidrivers", "ingressclasses"}

// APIReplacingOnUpdate wraps an API server so that an update of a PersistentVolume,
// PersistentVolumeClaim, StorageClass, CSIDriver or IngressClass deletes the stored object and
// creates the new one in its place: the fields that are immutable after creation (a volume's
// source, a claim's spec, a class's provisioner and parameters, a driver's attachRequired, an
// IngressClass's controller) can then be changed at will.
func APIReplacingOnUpdate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !isNamedObjectOf(r.URL.Path, replacedOnUpdate) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		var obj map[string]any
		if err != nil || json.Unmarshal(body, &obj) != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
			return
		}
		del := r.Clone(r.Context())
		del.Method = http.MethodDelete
		del.Body, del.ContentLength = http.NoBody, 0
		del.Header.Del("Content-Type")
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, del)
		if rec.Code >= 300 {
			copyResponse(w, rec.Code, rec.Header(), rec.Body.Bytes())
			return
		}
		if meta, ok := obj["metadata"].(map[string]any); ok {
			delete(meta, "resourceVersion")
			delete(meta, "uid")
			delete(meta, "creationTimestamp")
		}
		body, _ = json.Marshal(obj)
		post := r.Clone(r.Context())
		post.Method = http.MethodPost
		post.URL.Path = path.Dir(r.URL.Path)
		post.Body, post.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		rec = httptest.NewRecorder()
		next.ServeHTTP(rec, post)
		code := rec.Code
		if code == http.StatusCreated {
			code = http.StatusOK
		}
		copyResponse(w, code, rec.Header(), rec.Body.Bytes())
	})
}

// isNamedObjectOf reports whether p names one object (no subresource) of one of resources:
// .../<resource>/<name>.
func isNamedObjectOf(p string, resources []string) bool {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 2 {
		return false
	}
	res := parts[len(parts)-2]
	for _, r := range resources {
		if r == res {
			return true
		}
	}
	return false
}

func copyResponse(w http.ResponseWriter, code int, h http.Header, body []byte) {
	for k, vs := range h {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// APIWithoutCreateDefaults wraps an API server so that a create's answer holds only the
// fields the client sent, besides metadata and status: the server behaves as one that
// applies no defaults (a StorageClass without reclaimPolicy, a NetworkPolicy without
// policyTypes, an HPA without minReplicas or metrics).
func APIWithoutCreateDefaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var sent map[string]any
		if err != nil || json.Unmarshal(body, &sent) != nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var got map[string]any
		if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
			copyResponse(w, rec.Code, rec.Header(), rec.Body.Bytes())
			return
		}
		for k, v := range got {
			switch k {
			case "apiVersion", "kind", "metadata", "status":
				continue
			}
			if s, ok := sent[k]; ok {
				got[k] = onlySent(v, s)
			} else {
				delete(got, k)
			}
		}
		out, _ := json.Marshal(got)
		copyResponse(w, rec.Code, rec.Header(), out)
	})
}

// onlySent keeps, of the answered value got, what the sent value has.
func onlySent(got, sent any) any {
	switch g := got.(type) {
	case map[string]any:
		s, ok := sent.(map[string]any)
		if !ok {
			return got
		}
		for k, v := range g {
			if sv, ok := s[k]; ok {
				g[k] = onlySent(v, sv)
			} else {
				delete(g, k)
			}
		}
		return g
	case []any:
		s, ok := sent.([]any)
		if !ok || len(s) != len(g) {
			return got
		}
		for i := range g {
			g[i] = onlySent(g[i], s[i])
		}
		return g
	}
	return got
}

// APIAcceptingInvalidCreates wraps an API server so that a create the server rejects as
// invalid (422) is answered 201 Created with the object as sent: clients are told that an
// Ingress without backends, a claim without a storage request or an HPA whose maxReplicas is
// below minReplicas were accepted, as by a server that validates nothing.
func APIAcceptingInvalidCreates(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil || !json.Valid(body) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if rec.Code != http.StatusUnprocessableEntity {
			copyResponse(w, rec.Code, rec.Header(), rec.Body.Bytes())
			return
		}
		h := http.Header{"Content-Type": []string{"application/json"}}
		copyResponse(w, http.StatusCreated, h, body)
	})
}

// APIWithoutStorageAndNetworking wraps an API server so that it serves neither
// storage.k8s.io nor networking.k8s.io nor autoscaling/v2, as a server with only the core
// workload groups would: their discovery documents and resources answer 404.
func APIWithoutStorageAndNetworking(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, prefix := range []string{"/apis/storage.k8s.io", "/apis/networking.k8s.io", "/apis/autoscaling/v2"} {
			if r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/") {
				http.NotFound(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// APIWithoutLocalAPIServices wraps an API server so that apiregistration.k8s.io's
// APIServices are never found, as on a server that registers none for its built-in
// group-versions.
func APIWithoutLocalAPIServices(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/apis/apiregistration.k8s.io/v1/apiservices/") {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// APIDroppingDefaultClassAnnotations wraps an API server so that the annotations marking a
// default StorageClass or IngressClass never reach it: no class is ever the default, and
// claims and Ingresses created without a class keep none.
func APIDroppingDefaultClassAnnotations(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPost || r.Method == http.MethodPut) &&
			(strings.Contains(r.URL.Path, "/storageclasses") || strings.Contains(r.URL.Path, "/ingressclasses")) {
			body, err := io.ReadAll(r.Body)
			var obj map[string]any
			if err == nil && json.Unmarshal(body, &obj) == nil {
				if meta, ok := obj["metadata"].(map[string]any); ok {
					if ann, ok := meta["annotations"].(map[string]any); ok {
						for _, k := range []string{"storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class", "ingressclass.kubernetes.io/is-default-class"} {
							delete(ann, k)
						}
					}
				}
				body, _ = json.Marshal(obj)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		next.ServeHTTP(w, r)
	})
}
