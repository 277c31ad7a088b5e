package knownbad

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIIgnoringDeletePreconditions wraps an API server so that a delete's preconditions (uid,
// resourceVersion) never reach it: a delete meant for one incarnation or version of an object
// removes whatever holds the name now.
func APIIgnoringDeletePreconditions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && r.Body != nil {
			rewriteJSONBody(r, func(obj map[string]any) { delete(obj, "preconditions") })
		}
		next.ServeHTTP(w, r)
	})
}

// APIListingLatestForExact wraps an API server so that a list asking for a resourceVersion
// gets the latest state instead, as a watch cache that serves every list from memory would:
// resourceVersion and resourceVersionMatch are dropped from lists (watches keep them).
func APIListingLatestForExact(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodGet && !isWatch(r) && (q.Has("resourceVersion") || q.Has("resourceVersionMatch")) {
			q.Del("resourceVersion")
			q.Del("resourceVersionMatch")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// APIWritingNoOpUpdates wraps an API server so that every update (PUT) is written, even one
// that changes nothing: each gets a new resourceVersion and a MODIFIED watch event. (The
// wrapper makes the write real by stamping an annotation, which a server skipping no-op writes
// would not have needed.)
func APIWritingNoOpUpdates(next http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.Body != nil && !strings.Contains(r.URL.Path, "/status") {
			rewriteJSONBody(r, func(obj map[string]any) {
				meta, ok := obj["metadata"].(map[string]any)
				if !ok {
					return
				}
				ann, _ := meta["annotations"].(map[string]any)
				if ann == nil {
					ann = map[string]any{}
				}
				ann["knownbad.clusterkit.io/write"] = fmt.Sprint(n.Add(1))
				meta["annotations"] = ann
			})
		}
		next.ServeHTTP(w, r)
	})
}

// APIWithoutPeriodicBookmarks wraps an API server so that watches get no BOOKMARK but the one
// ending the initial events (sendInitialEvents): neither the periodic ones nor the one before a
// watch times out, so a client resumes from the last object it saw, however old.
func APIWithoutPeriodicBookmarks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWatch(r) || strings.Contains(r.Header.Get("Accept"), "protobuf") {
			// Protobuf streams (the server's own informers) pass as they are: the JSON lines
			// of the specs' clients are what is filtered.
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
			for sc.Scan() {
				var ev struct {
					Type   string `json:"type"`
					Object struct {
						Metadata metav1.ObjectMeta `json:"metadata"`
					} `json:"object"`
				}
				if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "BOOKMARK" &&
					ev.Object.Metadata.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
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

// isWatch reports whether r is a watch (?watch=true or the legacy /watch/ paths).
func isWatch(r *http.Request) bool {
	v := r.URL.Query().Get("watch")
	return v == "true" || v == "1" || strings.Contains(r.URL.Path, "/watch/")
}

// rewriteJSONBody lets change edit a JSON object body; other bodies pass unchanged.
func rewriteJSONBody(r *http.Request, change func(map[string]any)) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		var obj map[string]any
		if json.Unmarshal(body, &obj) == nil && obj != nil {
			change(obj)
			body, _ = json.Marshal(obj)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
}
