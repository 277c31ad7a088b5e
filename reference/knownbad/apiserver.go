package knownbad

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// APIAcceptingStaleWrites wraps an API server so that updates lose their
// resourceVersion before they reach it: optimistic concurrency is gone and
// the last writer silently wins.
func APIAcceptingStaleWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err == nil {
				var obj map[string]any
				if json.Unmarshal(body, &obj) == nil {
					if meta, ok := obj["metadata"].(map[string]any); ok {
						delete(meta, "resourceVersion")
						body, _ = json.Marshal(obj)
					}
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// APIIgnoringFieldValidation wraps an API server so that the
// fieldValidation parameter never reaches it: unknown fields are dropped
// silently instead of rejected.
func APIIgnoringFieldValidation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("fieldValidation") {
			q.Del("fieldValidation")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// APIWritingStatusThroughMain wraps an API server so that writes to the
// status subresource go to the main resource: a status write then also
// changes the spec, and a controller's status update can undo a user's
// spec change.
func APIWritingStatusThroughMain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPut || r.Method == http.MethodPatch) && strings.HasSuffix(r.URL.Path, "/status") {
			r.URL.Path = strings.TrimSuffix(r.URL.Path, "/status")
		}
		next.ServeHTTP(w, r)
	})
}

// APIDroppingWatchEvents wraps an API server so that every third event of
// every watch stream is lost, as a server whose fan-out drops events under
// load would.
func APIDroppingWatchEvents(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") != "true" && r.URL.Query().Get("watch") != "1" {
			next.ServeHTTP(w, r)
			return
		}
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			flusher, _ := w.(http.Flusher)
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			n := 0
			for sc.Scan() {
				n++
				if n%3 == 0 {
					continue
				}
				_, _ = w.Write(append(sc.Bytes(), '\n'))
				if flusher != nil {
					flusher.Flush()
				}
			}
			_, _ = io.Copy(io.Discard, pr)
		}()
		next.ServeHTTP(&pipeWriter{header: w.Header(), w: pw, status: w.WriteHeader}, r)
		_ = pw.Close()
		<-done
	})
}

// pipeWriter is a ResponseWriter whose body goes into a pipe.
type pipeWriter struct {
	header http.Header
	w      *io.PipeWriter
	status func(int)
}

func (p *pipeWriter) Header() http.Header         { return p.header }
func (p *pipeWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeWriter) WriteHeader(code int)        { p.status(code) }
func (p *pipeWriter) Flush()                      {}

// APIIgnoringAccept is an API server that answers JSON whatever a write's Accept header
// asks for: a Table of an access review, or only application/xml, gets JSON (and the write
// happens) instead of 406 Not Acceptable. Reads keep their Accept header, so Tables of lists
// still work.
func APIIgnoringAccept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			r.Header.Del("Accept")
		}
		next.ServeHTTP(w, r)
	})
}

// APIForcingEveryApply is an API server whose server-side apply always forces: an apply
// takes fields other managers own instead of failing with 409 Conflict.
func APIForcingEveryApply(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch") {
			q := r.URL.Query()
			q.Set("force", "true")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// APIEvictionIgnoringBudgets wraps an API server so that an eviction is a plain delete of the
// pod: PodDisruptionBudgets no longer protect anything, and kubectl drain takes down every
// replica at once.
func APIEvictionIgnoringBudgets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/eviction") {
			r.Method = http.MethodDelete
			r.URL.Path = strings.TrimSuffix(r.URL.Path, "/eviction")
			r.Body = io.NopCloser(strings.NewReader(""))
			r.ContentLength = 0
		}
		next.ServeHTTP(w, r)
	})
}

// APIPreservingUnknownFields wraps an API server so that every CustomResourceDefinition
// written through it preserves unknown fields at every level of its schemas
// (x-kubernetes-preserve-unknown-fields on each object with properties): the server then
// never prunes custom resources, and fields their schema does not know are stored.
func APIPreservingUnknownFields(next http.Handler) http.Handler {
	return rewritingCRDSchemas(next, func(m map[string]any) {
		if _, ok := m["properties"]; ok {
			m["x-kubernetes-preserve-unknown-fields"] = true
		}
	})
}

// APIIgnoringCELRules wraps an API server so that the x-kubernetes-validations rules of every
// CustomResourceDefinition written through it are dropped: custom resources that break them
// are stored.
func APIIgnoringCELRules(next http.Handler) http.Handler {
	return rewritingCRDSchemas(next, func(m map[string]any) { delete(m, "x-kubernetes-validations") })
}

// APIIgnoringConversionWebhooks wraps an API server so that every CustomResourceDefinition
// written through it gets the conversion strategy None: its conversion webhook is never
// called, and custom resources are read at every version as they were written, only their
// apiVersion rewritten.
func APIIgnoringConversionWebhooks(next http.Handler) http.Handler {
	return rewritingCRDs(next, func(spec map[string]any) {
		spec["conversion"] = map[string]any{"strategy": "None"}
	})
}

// rewritingCRDSchemas applies edit to every schema node of the CRDs created or replaced
// through the handler (JSON bodies).
func rewritingCRDSchemas(next http.Handler, edit func(map[string]any)) http.Handler {
	return rewritingCRDs(next, func(spec map[string]any) {
		versions, _ := spec["versions"].([]any)
		for _, v := range versions {
			if vm, ok := v.(map[string]any); ok {
				if s, ok := vm["schema"].(map[string]any); ok {
					walkSchema(s["openAPIV3Schema"], edit)
				}
			}
		}
	})
}

// rewritingCRDs applies edit to the spec of the CRDs created or replaced through the handler
// (JSON bodies).
func rewritingCRDs(next http.Handler, edit func(spec map[string]any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPost || r.Method == http.MethodPut) && r.Body != nil &&
			strings.HasPrefix(r.URL.Path, "/apis/apiextensions.k8s.io/") && strings.Contains(r.URL.Path, "/customresourcedefinitions") {
			body, err := io.ReadAll(r.Body)
			if err == nil {
				var crd map[string]any
				if json.Unmarshal(body, &crd) == nil {
					if spec, ok := crd["spec"].(map[string]any); ok {
						edit(spec)
					}
					body, _ = json.Marshal(crd)
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// walkSchema calls edit on s and every schema under it.
func walkSchema(s any, edit func(map[string]any)) {
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	edit(m)
	if props, ok := m["properties"].(map[string]any); ok {
		for _, p := range props {
			walkSchema(p, edit)
		}
	}
	walkSchema(m["items"], edit)
	walkSchema(m["additionalProperties"], edit)
}
