package apiserver

import (
	"net/http"
	"net/http/httptest"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
)

// loopbackHost is the made-up address of the loopback client: its requests never reach the
// network.
const loopbackHost = "http://apiserver.loopback.invalid"

// loopbackTransport serves the loopback client's requests in process as system:apiserver (a
// member of system:masters), past authentication and authorization, as kube-apiserver's own
// loopback client is. It buffers each answer, so it serves gets and lists, not watches.
type loopbackTransport struct{ s *Server }

func (t loopbackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r = r.WithContext(genericrequest.WithUser(r.Context(), harnessUser))
	t.s.serveHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// loopbackClient is a client of this server that does not go through the network, for
// admission plugins that read objects (the namespace of a pod, the pods of a namespace).
func (s *Server) loopbackClient() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(&rest.Config{
		Host:      loopbackHost,
		Transport: loopbackTransport{s: s},
		QPS:       -1,
		UserAgent: "clusterkit-apiserver-loopback",
	})
}
