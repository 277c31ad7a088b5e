package knownbad

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
)

// KubeletWithoutNodeEvents wraps the transport of a kubelet's API client so that every Event
// it writes about its Node is refused (403) without reaching the API server: its pods' Events
// arrive, but `kubectl describe node` shows no Starting, NodeHasSufficientMemory … NodeReady,
// as a kubelet that never records node Events.
func KubeletWithoutNodeEvents(next http.RoundTripper) http.RoundTripper {
	return noNodeEvents{next: next}
}

type noNodeEvents struct{ next http.RoundTripper }

func (d noNodeEvents) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/events") || req.Body == nil {
		return d.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	if ev, ok := decodeEvent(body); ok && ev.InvolvedObject.Kind == "Node" {
		msg := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"node events dropped by a known-bad kubelet"}`
		return &http.Response{
			StatusCode: http.StatusForbidden, Status: "403 Forbidden", Request: req,
			Header: http.Header{"Content-Type": []string{"application/json"}},
			Body:   io.NopCloser(bytes.NewBufferString(msg)), ContentLength: int64(len(msg)),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		}, nil
	}
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return d.next.RoundTrip(r)
}

// decodeEvent decodes a core/v1 Event written as JSON or protobuf.
func decodeEvent(body []byte) (*corev1.Event, bool) {
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		return nil, false
	}
	ev, ok := obj.(*corev1.Event)
	return ev, ok
}
