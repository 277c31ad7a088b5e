package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// defaultWatchTimeout bounds a watch without timeoutSeconds, as kube-apiserver's
// min-request-timeout (clients re-establish watches).
const defaultWatchTimeout = 30 * time.Minute

// bookmarkBeforeTimeout is how long before its timeout a watch that allows bookmarks gets one
// (kube-apiserver's cacher: 2 s).
const bookmarkBeforeTimeout = 2 * time.Second

// watchEvent is one line of a watch stream.
type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object json.RawMessage `json:"object"`
}

// watchStream writes events for one watch request.
type watchStream struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	res     *registry.Resource
	out     output
	flusher http.Flusher
	// frames writes the length-prefixed WatchEvent frames of a protobuf watch.
	frames  io.Writer
	started bool
	rows    int // events written; table column definitions go with the first only
}

func (ws *watchStream) start() {
	if ws.started {
		return
	}
	ws.started = true
	if ws.out.protobuf {
		ws.w.Header().Set("Content-Type", mediaTypeProtobufWatch)
		ws.frames = protobuf.LengthDelimitedFramer.NewFrameWriter(ws.w)
	} else {
		ws.w.Header().Set("Content-Type", "application/json")
	}
	ws.w.Header().Set("Cache-Control", "no-cache, private")
	ws.w.WriteHeader(http.StatusOK)
	ws.flush()
}

func (ws *watchStream) flush() {
	if ws.flusher != nil {
		ws.flusher.Flush()
	}
}

// send writes one event with obj rendered in the negotiated form.
func (ws *watchStream) send(t watch.EventType, obj runtime.Object) error {
	return ws.sendEncoded(t, obj, nil)
}

// sendChange writes the event for a store change: an object sent as it is uses the change's
// JSON or protobuf, encoded once for all the watches that send it.
func (ws *watchStream) sendChange(t watch.EventType, obj runtime.Object, ev storage.Event) error {
	if ws.out.form == formObject && obj == ev.Object {
		if ws.out.protobuf {
			return ws.sendEncoded(t, obj, func() ([]byte, error) { return ev.Protobuf(ws.s.encodeProtobuf) })
		}
		return ws.sendEncoded(t, obj, ev.JSON)
	}
	return ws.sendEncoded(t, obj, nil)
}

// sendEncoded writes one event; encodedObject, when not nil, gives obj's JSON (protobuf on a
// protobuf watch).
func (ws *watchStream) sendEncoded(t watch.EventType, obj runtime.Object, encodedObject func() ([]byte, error)) error {
	ws.start()
	var v any = obj
	if t != watch.Bookmark && ws.out.form != formObject {
		rendered, err := ws.s.render(ws.r, ws.res, ws.out, []runtime.Object{obj}, false, metav1.ListMeta{})
		if err != nil {
			return err
		}
		if t, ok := rendered.(*metav1.Table); ok {
			if ws.rows > 0 {
				t.ColumnDefinitions = nil
			}
			t.ResourceVersion = objectMeta(obj).GetResourceVersion()
		}
		v = rendered
	}
	var data []byte
	var err error
	switch {
	case encodedObject != nil:
		data, err = encodedObject()
	case ws.out.protobuf:
		if o, ok := v.(runtime.Object); ok {
			data, err = ws.s.encodeProtobuf(o)
		} else {
			err = fmt.Errorf("watch event object %T is not an object", v)
		}
	default:
		data, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	if ws.out.protobuf {
		return ws.writeFrame(t, data)
	}
	// The line is {"type":T,"object":DATA} (watchEvent's JSON) written around the object's
	// bytes, which json.Marshal would scan and copy once more.
	line := make([]byte, 0, len(data)+len(t)+24)
	line = append(line, `{"type":"`...)
	line = append(line, t...)
	line = append(line, `","object":`...)
	line = append(line, data...)
	line = append(line, "}\n"...)
	if _, err := ws.w.Write(line); err != nil {
		return err
	}
	ws.rows++
	ws.flush()
	return nil
}

// writeFrame writes one protobuf watch event: a metav1.WatchEvent whose object is the
// envelope-encoded data, encoded without envelope in one length-prefixed frame.
func (ws *watchStream) writeFrame(t watch.EventType, data []byte) error {
	ev := &metav1.WatchEvent{Type: string(t), Object: runtime.RawExtension{Raw: data}}
	if err := ws.s.protobufRaw.EncodeWithAllocator(ev, ws.frames, &runtime.SimpleAllocator{}); err != nil {
		return err
	}
	ws.rows++
	ws.flush()
	return nil
}

// sendError writes an ERROR event carrying a Status.
func (ws *watchStream) sendError(err error) {
	ws.start()
	if ws.out.protobuf {
		if data, perr := ws.s.encodeProtobuf(statusFor(err)); perr == nil {
			_ = ws.writeFrame(watch.Error, data)
		}
		return
	}
	data, _ := json.Marshal(statusFor(err))
	line, _ := json.Marshal(watchEvent{Type: watch.Error, Object: data})
	_, _ = ws.w.Write(append(line, '\n'))
	ws.flush()
}

// bookmark writes a BOOKMARK event at rev; initialEnd marks the end of the initial events.
func (ws *watchStream) bookmark(rev int64, initialEnd bool) error {
	obj := ws.res.New()
	obj.GetObjectKind().SetGroupVersionKind(ws.res.GroupVersionKind())
	m := objectMeta(obj)
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	if initialEnd {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return ws.send(watch.Bookmark, obj)
}

// serveWatch streams changes of a collection (or one object, for the legacy watch path with a
// name) as JSON lines, or as length-delimited protobuf WatchEvent frames when negotiated.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, req request) {
	q := r.URL.Query()
	if err := validateListQuery(q, true); err != nil {
		writeError(w, err)
		return
	}
	m, err := parseMatcher(req.res, q)
	if err != nil {
		writeError(w, err)
		return
	}
	m.name = req.name
	rv := q.Get("resourceVersion")
	from, err := storage.ParseResourceVersion(rv)
	if err != nil {
		writeError(w, err)
		return
	}
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	// Kubernetes: without a resourceVersion (or with "0") a watch starts with the current state
	// as synthetic ADDED events; sendInitialEvents overrides that.
	sendInitial := from == 0
	if si := q.Get("sendInitialEvents"); si != "" {
		sendInitial = si == "true" // with resourceVersionMatch=NotOlderThan (validateListQuery)
	}
	timeout := defaultWatchTimeout
	if ts := q.Get("timeoutSeconds"); ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || n < 0 {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q", ts)))
			return
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	flusher, _ := w.(http.Flusher)
	out, err := negotiateOutput(r.Header.Get("Accept"), req.res)
	if err != nil {
		writeError(w, err)
		return
	}
	ws := &watchStream{s: s, w: w, r: r, res: req.res, out: out, flusher: flusher}

	var initial []runtime.Object
	start := from
	if sendInitial {
		min := from // NotOlderThan from; "" is a consistent read, "0" any state
		if rv == "0" {
			min = 1
		}
		lr, err := s.objects.List(ctx, req.res, req.namespace, storage.ListOptions{MinRevision: min, Filter: m.filter(), Cached: true})
		if err != nil {
			writeError(w, err)
			return
		}
		initial, start = lr.Items, lr.Revision
	} else if from == 0 {
		cur, err := s.cfg.Store.CurrentRevision(ctx)
		if err != nil {
			writeError(w, apierrors.NewInternalError(err))
			return
		}
		start = cur
	} else {
		cur, err := s.cfg.Store.CurrentRevision(ctx)
		if err != nil {
			writeError(w, apierrors.NewInternalError(err))
			return
		}
		if from > cur {
			writeError(w, tooLargeResourceVersion(from, cur))
			return
		}
	}
	events, errc, err := s.objects.WatchWith(ctx, req.res, req.namespace, start, m.watchOptions())
	if err != nil {
		if interfaces.IsExpired(err) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			ws.sendError(err)
			return
		}
		writeError(w, err)
		return
	}
	for _, obj := range initial {
		if err := ws.send(watch.Added, obj); err != nil {
			return
		}
	}
	if sendInitial && bookmarks && q.Get("sendInitialEvents") == "true" {
		if err := ws.bookmark(start, true); err != nil {
			return
		}
	}
	ws.start()

	last := start
	var tick, beforeTimeout <-chan time.Time
	if bookmarks {
		t := time.NewTicker(s.cfg.BookmarkInterval)
		defer t.Stop()
		tick = t.C
		// As kube-apiserver's cacher: a bookmark 2 s before the watch times out, so the client
		// resumes from a resourceVersion as recent as possible.
		if timeout > bookmarkBeforeTimeout {
			t := time.NewTimer(timeout - bookmarkBeforeTimeout)
			defer t.Stop()
			beforeTimeout = t.C
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if err := ws.bookmark(last, false); err != nil {
				return
			}
		case <-beforeTimeout:
			if err := ws.bookmark(last, false); err != nil {
				return
			}
		case ev, ok := <-events:
			if !ok {
				if err := <-errc; err != nil && ctx.Err() == nil {
					ws.sendError(err)
				}
				return
			}
			last = ev.Revision
			t, obj := classify(m, ev)
			if t == "" {
				continue
			}
			if err := ws.sendChange(t, obj, ev); err != nil {
				return
			}
		}
	}
}

// previousAt returns a copy of the event's previous object carrying the event's revision (the
// shared objects of an event are not modified).
func previousAt(ev storage.Event) runtime.Object {
	obj := ev.Previous.DeepCopyObject()
	objectMeta(obj).SetResourceVersion(strconv.FormatInt(ev.Revision, 10))
	return obj
}

// classify turns a store change into the watch event a client with matcher m sees: an object
// that starts matching is ADDED, one that stops matching is DELETED, and changes to objects that
// never match are dropped (empty type).
func classify(m *matcher, ev storage.Event) (watch.EventType, runtime.Object) {
	var objFields, prevFields fields.Set
	if !m.fields.Empty() {
		// Once per event for every watcher of the shared watch, not once per watcher.
		objFields, prevFields = ev.FieldSets(m.res)
	}
	switch ev.Type {
	case interfaces.EventCreated:
		if m.matchesWith(ev.Object, objFields) {
			return watch.Added, ev.Object
		}
	case interfaces.EventUpdated:
		now := m.matchesWith(ev.Object, objFields)
		before := now
		if ev.Previous != nil {
			before = m.matchesWith(ev.Previous, prevFields)
		}
		switch {
		case now && before:
			return watch.Modified, ev.Object
		case now:
			return watch.Added, ev.Object
		case before:
			// As kube-apiserver's watchers (cacher and etcd3 alike): the object's last state
			// the client matched, at the update's resourceVersion.
			return watch.Deleted, previousAt(ev)
		}
	case interfaces.EventDeleted:
		if m.matchesWith(ev.Object, objFields) {
			return watch.Deleted, ev.Object
		}
	}
	return "", nil
}
