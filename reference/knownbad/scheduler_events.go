package knownbad

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

// SchedulerWithoutEvents is the reference scheduler whose Event writes are swallowed (its
// transport answers every write to an events resource with 403 without sending it): it places
// pods right but no Scheduled or FailedScheduling Event is ever written.
func SchedulerWithoutEvents(cfg *rest.Config, name string) (interfaces.Component, error) {
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return dropEvents{next: rt} })
	return scheduler.New(c, scheduler.Options{SchedulerName: name})
}

// dropEvents refuses writes to events (core/v1 and events.k8s.io/v1).
type dropEvents struct{ next http.RoundTripper }

func (d dropEvents) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && strings.Contains(req.URL.Path, "/events") {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"events dropped by a known-bad scheduler"}`
		return &http.Response{
			StatusCode: http.StatusForbidden, Status: "403 Forbidden", Request: req,
			Header: http.Header{"Content-Type": []string{"application/json"}},
			Body:   io.NopCloser(bytes.NewBufferString(body)), ContentLength: int64(len(body)),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		}, nil
	}
	return d.next.RoundTrip(req)
}
