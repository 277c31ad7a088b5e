package apiserver_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestPodAndServiceProxy: pods/NAME[:PORT]/proxy/PATH and services/NAME[:PORT]/proxy/PATH
// reach the pod's IP and a ready endpoint of the Service, with the path and query, any method.
func TestPodAndServiceProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
	}))
	defer backend.Close()
	host, portStr, _ := net.SplitHostPort(backend.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)

	ts := newTestServer(t)
	ctx := ctxT(t)
	pods := ts.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, makePod("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Patch(ctx, "web", "application/merge-patch+json", []byte(`{"status":{"podIP":"`+host+`"}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	rc := ts.client.CoreV1().RESTClient()
	b, err := rc.Get().Namespace("default").Resource("pods").Name("web:"+portStr).SubResource("proxy", "some", "path").Param("q", "1").DoRaw(ctx)
	if err != nil || string(b) != "GET /some/path?q=1" {
		t.Fatalf("pods/web:%s/proxy/some/path: %q, %v", portStr, b, err)
	}
	b, err = rc.Post().Namespace("default").Resource("pods").Name("web:" + portStr).SubResource("proxy").DoRaw(ctx)
	if err != nil || string(b) != "POST /?" {
		t.Fatalf("POST pods/web:%s/proxy: %q, %v", portStr, b, err)
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
	}}
	if _, err := ts.client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(port))}},
	}
	if _, err := ts.client.DiscoveryV1().EndpointSlices("default").Create(ctx, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web:http", "web:80", "http:web:80"} {
		b, err = rc.Get().Namespace("default").Resource("services").Name(name).SubResource("proxy", "x").DoRaw(ctx)
		if err != nil || string(b) != "GET /x?" {
			t.Fatalf("services/%s/proxy/x: %q, %v", name, b, err)
		}
	}
	if _, err := rc.Get().Namespace("default").Resource("services").Name("web:81").SubResource("proxy").DoRaw(ctx); err == nil {
		t.Fatal("a port the Service does not have must fail")
	}
}

// TestNodeProxy: nodes/NAME/proxy/PATH reaches the node's kubelet (status.daemonEndpoints) at
// PATH; NAME:PORT another port of the node's address; a node without a kubelet endpoint is 503.
func TestNodeProxy(t *testing.T) {
	kubelet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "kubelet %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
	}))
	defer kubelet.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "other %s", r.URL.Path)
	}))
	defer other.Close()
	host, kubeletPort, _ := net.SplitHostPort(kubelet.Listener.Addr().String())
	_, otherPort, _ := net.SplitHostPort(other.Listener.Addr().String())
	port, _ := strconv.Atoi(kubeletPort)

	ts := newTestServer(t)
	ctx := ctxT(t)
	nodes := ts.client.CoreV1().Nodes()
	for _, name := range []string{"n1", "n2"} {
		if _, err := nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	status := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":%q}],"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}}}}`, host, port)
	if _, err := nodes.Patch(ctx, "n1", "application/merge-patch+json", []byte(status), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	rc := ts.client.CoreV1().RESTClient()
	b, err := rc.Get().Resource("nodes").Name("n1").SubResource("proxy", "stats", "summary").Param("only_cpu_and_memory", "true").DoRaw(ctx)
	if err != nil || string(b) != "kubelet GET /stats/summary?only_cpu_and_memory=true" {
		t.Fatalf("nodes/n1/proxy/stats/summary: %q, %v", b, err)
	}
	b, err = rc.Get().Resource("nodes").Name("n1:"+kubeletPort).SubResource("proxy", "healthz").DoRaw(ctx)
	if err != nil || string(b) != "kubelet GET /healthz?" {
		t.Fatalf("nodes/n1:%s/proxy/healthz: %q, %v", kubeletPort, b, err)
	}
	b, err = rc.Get().Resource("nodes").Name("n1:"+otherPort).SubResource("proxy", "metrics").DoRaw(ctx)
	if err != nil || string(b) != "other /metrics" {
		t.Fatalf("nodes/n1:%s/proxy/metrics: %q, %v", otherPort, b, err)
	}
	if _, err := rc.Get().Resource("nodes").Name("n2").SubResource("proxy", "healthz").DoRaw(ctx); err == nil {
		t.Fatal("a node without a kubelet endpoint must fail")
	}
	if _, err := rc.Get().Resource("nodes").Name("missing").SubResource("proxy").DoRaw(ctx); err == nil {
		t.Fatal("a node that does not exist must fail")
	}
}
