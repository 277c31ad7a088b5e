package apiserver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// servedServer is an API server started with Serve on a loopback listener, so that it keeps the
// kubernetes Service with the listener's address.
type servedServer struct {
	srv    *apiserver.Server
	store  *memory.Store
	client kubernetes.Interface
	port   int
	stop   func() error // ends Serve and returns its error
}

func serveTestServer(t *testing.T, store *memory.Store, cfg apiserver.Config) *servedServer {
	t.Helper()
	cfg.Store = store
	srv, err := apiserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() { _ = stop() })
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://" + ln.Addr().String(), QPS: -1})
	return &servedServer{srv: srv, store: store, client: client, port: ln.Addr().(*net.TCPAddr).Port, stop: stop}
}

// kubernetesObjects reads the three objects; a missing one is nil.
func kubernetesObjects(ctx context.Context, c kubernetes.Interface) (*corev1.Service, *corev1.Endpoints, *discoveryv1.EndpointSlice, error) {
	svc, err := c.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		svc, err = nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	ep, err := c.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		ep, err = nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	es, err := c.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		es, err = nil, nil
	}
	return svc, ep, es, err
}

// kubernetesObjectsProblem says what is wrong with the three objects for API servers at ips
// on port, or "".
func kubernetesObjectsProblem(ctx context.Context, c kubernetes.Interface, port int, ips ...string) string {
	svc, ep, es, err := kubernetesObjects(ctx, c)
	switch {
	case err != nil:
		return err.Error()
	case svc == nil:
		return "no Service"
	case ep == nil:
		return "no Endpoints"
	case es == nil:
		return "no EndpointSlice"
	}
	wantPort := corev1.ServicePort{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(int32(port))}
	if svc.Spec.ClusterIP != "10.96.0.1" || svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0] != wantPort ||
		svc.Spec.Selector != nil || svc.Labels["component"] != "apiserver" || svc.Labels["provider"] != "kubernetes" {
		return fmt.Sprintf("Service is %+v %+v", svc.Labels, svc.Spec)
	}
	if ep.Labels[discoveryv1.LabelSkipMirror] != "true" || len(ep.Subsets) != 1 || len(ep.Subsets[0].Ports) != 1 ||
		ep.Subsets[0].Ports[0] != (corev1.EndpointPort{Name: "https", Port: int32(port), Protocol: corev1.ProtocolTCP}) ||
		len(ep.Subsets[0].Addresses) != len(ips) || len(ep.Subsets[0].NotReadyAddresses) != 0 {
		return fmt.Sprintf("Endpoints are %+v %+v", ep.Labels, ep.Subsets)
	}
	for i, ip := range ips {
		if ep.Subsets[0].Addresses[i].IP != ip {
			return fmt.Sprintf("Endpoints addresses are %+v, want %v", ep.Subsets[0].Addresses, ips)
		}
	}
	if len(es.Labels) != 1 || es.Labels[discoveryv1.LabelServiceName] != "kubernetes" || es.AddressType != discoveryv1.AddressTypeIPv4 ||
		len(es.Ports) != 1 || *es.Ports[0].Name != "https" || *es.Ports[0].Port != int32(port) || *es.Ports[0].Protocol != corev1.ProtocolTCP ||
		len(es.Endpoints) != len(ips) {
		return fmt.Sprintf("EndpointSlice is %+v %+v %+v", es.Labels, es.Ports, es.Endpoints)
	}
	for i, ip := range ips {
		e := es.Endpoints[i]
		if len(e.Addresses) != 1 || e.Addresses[0] != ip || e.Conditions.Ready == nil || !*e.Conditions.Ready {
			return fmt.Sprintf("EndpointSlice endpoints are %+v, want %v", es.Endpoints, ips)
		}
	}
	return ""
}

func waitKubernetesObjects(t *testing.T, ctx context.Context, c kubernetes.Interface, port int, ips ...string) {
	t.Helper()
	problem := ""
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if problem = kubernetesObjectsProblem(ctx, c, port, ips...); problem == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the kubernetes Service and its endpoints never became right: %s", problem)
}

func TestKubernetesServicePublishedAtServe(t *testing.T) {
	ctx := ctxT(t)
	s := serveTestServer(t, memory.New(), apiserver.Config{})
	// The first pass runs before Serve accepts requests: no waiting.
	if p := kubernetesObjectsProblem(ctx, s.client, s.port, "127.0.0.1"); p != "" {
		t.Fatal(p)
	}
	if ip := s.srv.KubernetesServiceIP().String(); ip != "10.96.0.1" {
		t.Fatalf("KubernetesServiceIP = %s", ip)
	}
}

func TestKubernetesServiceRepaired(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(ctx context.Context, c kubernetes.Interface) error
	}{
		{"Service deleted", func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Services("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{})
		}},
		{"Endpoints deleted", func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Endpoints("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{})
		}},
		{"EndpointSlice deleted", func(ctx context.Context, c kubernetes.Interface) error {
			return c.DiscoveryV1().EndpointSlices("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{})
		}},
		{"all three deleted", func(ctx context.Context, c kubernetes.Interface) error {
			return errors.Join(c.CoreV1().Services("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{}),
				c.CoreV1().Endpoints("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{}),
				c.DiscoveryV1().EndpointSlices("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{}))
		}},
		{"Service ports and type edited", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Services("default").Patch(ctx, "kubernetes", types.MergePatchType,
				[]byte(`{"spec":{"type":"NodePort","ports":[{"name":"https","port":8443,"targetPort":1}]}}`), metav1.PatchOptions{})
			return err
		}},
		{"Endpoints addresses, ports and labels edited", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Endpoints("default").Patch(ctx, "kubernetes", types.MergePatchType,
				[]byte(`{"metadata":{"labels":{"endpointslice.kubernetes.io/skip-mirror":null}},"subsets":[{"addresses":[{"ip":"10.9.9.9"}],"ports":[{"name":"x","port":1}]},{"addresses":[{"ip":"10.9.9.8"}],"ports":[{"port":2}]}]}`), metav1.PatchOptions{})
			return err
		}},
		{"Endpoints emptied", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Endpoints("default").Patch(ctx, "kubernetes", types.MergePatchType, []byte(`{"subsets":null}`), metav1.PatchOptions{})
			return err
		}},
		{"EndpointSlice endpoints, ports and labels edited", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.DiscoveryV1().EndpointSlices("default").Patch(ctx, "kubernetes", types.MergePatchType,
				[]byte(`{"metadata":{"labels":{"extra":"x"}},"endpoints":[{"addresses":["10.9.9.9"],"conditions":{"ready":false}}],"ports":[{"name":"x","port":1}]}`), metav1.PatchOptions{})
			return err
		}},
		{"EndpointSlice replaced with an IPv6 one", func(ctx context.Context, c kubernetes.Interface) error {
			if err := c.DiscoveryV1().EndpointSlices("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{}); err != nil {
				return err
			}
			_, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Name: "kubernetes", Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
				AddressType: discoveryv1.AddressTypeIPv6,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::1"}}},
			}, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil // the reconciler was faster: the case is still a deletion
			}
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxT(t)
			// An hour between periodic passes: only the reaction to the change can repair it.
			s := serveTestServer(t, memory.New(), apiserver.Config{EndpointReconcileInterval: time.Hour})
			waitKubernetesObjects(t, ctx, s.client, s.port, "127.0.0.1")
			if err := c.break_(ctx, s.client); err != nil {
				t.Fatal(err)
			}
			waitKubernetesObjects(t, ctx, s.client, s.port, "127.0.0.1")
		})
	}
}

func TestKubernetesServiceSteadyStateWritesNothing(t *testing.T) {
	ctx := ctxT(t)
	s := serveTestServer(t, memory.New(), apiserver.Config{EndpointReconcileInterval: 20 * time.Millisecond})
	waitKubernetesObjects(t, ctx, s.client, s.port, "127.0.0.1")
	rvs := func() string {
		svc, ep, es, err := kubernetesObjects(ctx, s.client)
		if err != nil || svc == nil || ep == nil || es == nil {
			t.Fatalf("reading: %v", err)
		}
		return svc.ResourceVersion + "/" + ep.ResourceVersion + "/" + es.ResourceVersion
	}
	before := rvs()
	time.Sleep(300 * time.Millisecond) // about 15 passes
	if after := rvs(); after != before {
		t.Fatalf("passes over objects that are right rewrote them: resourceVersions %s -> %s", before, after)
	}
}

func TestKubernetesServiceLeases(t *testing.T) {
	ctx := ctxT(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	s := serveTestServer(t, store, apiserver.Config{Now: clock, EndpointReconcileInterval: 20 * time.Millisecond})
	waitKubernetesObjects(t, ctx, s.client, s.port, "127.0.0.1")

	// Another API server (same port, as Kubernetes requires) renewed its lease now, a third one
	// long ago.
	lease := func(ip string, at time.Time) {
		v := fmt.Sprintf(`{"ip":%q,"port":%d,"renewTime":%q}`, ip, s.port, at.Format(time.RFC3339Nano))
		if _, err := store.Create(ctx, "/registry/masterleases/"+ip, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	lease("10.0.0.9", now)
	lease("10.0.0.8", now.Add(-time.Hour))
	waitKubernetesObjects(t, ctx, s.client, s.port, "10.0.0.9", "127.0.0.1")
	if _, err := store.Get(ctx, "/registry/masterleases/10.0.0.8"); !apierrors.IsNotFound(err) {
		t.Fatalf("an expired lease must be deleted, got %v", err)
	}
	// The other server stops renewing: once its lease expires its address goes.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	waitKubernetesObjects(t, ctx, s.client, s.port, "127.0.0.1")
}

func TestKubernetesServiceShutdownRemovesOwnAddress(t *testing.T) {
	ctx := ctxT(t)
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	s := serveTestServer(t, store, apiserver.Config{})
	waitKubernetesObjects(t, ctx, s.client, s.port, "127.0.0.1")
	if err := s.stop(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	// Read through a fresh server on the same store that does not publish itself.
	reader := newTestServerOn(t, store)
	svc, ep, es, err := kubernetesObjects(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	if svc == nil || ep == nil || es == nil {
		t.Fatalf("shutdown must keep the objects: %v %v %v", svc, ep, es)
	}
	if len(ep.Subsets) != 0 || len(es.Endpoints) != 0 {
		t.Fatalf("shutdown must remove the server's address: %+v %+v", ep.Subsets, es.Endpoints)
	}
	if _, err := store.Get(ctx, "/registry/masterleases/127.0.0.1"); !apierrors.IsNotFound(err) {
		t.Fatalf("shutdown must drop the lease, got %v", err)
	}
	// A restart publishes it again, on its new port.
	s2 := serveTestServer(t, store, apiserver.Config{})
	if p := kubernetesObjectsProblem(ctx, s2.client, s2.port, "127.0.0.1"); p != "" {
		t.Fatal(p)
	}
}

func TestKubernetesServiceAdvertiseConfig(t *testing.T) {
	ctx := ctxT(t)
	// A port given in the Config (a server behind a proxy) is published instead of the listener's.
	s := serveTestServer(t, memory.New(), apiserver.Config{AdvertisePort: 6443})
	waitKubernetesObjects(t, ctx, s.client, 6443, "127.0.0.1")
	// An address given in the Config is published as it is, loopback included.
	s2 := serveTestServer(t, memory.New(), apiserver.Config{AdvertiseAddress: netip.MustParseAddr("192.0.2.10"), AdvertisePort: 8443})
	waitKubernetesObjects(t, ctx, s2.client, 8443, "192.0.2.10")
}

// newTestServerOn serves a Handler-only server (no advertised address: it keeps no kubernetes
// Service) on store.
func newTestServerOn(t *testing.T, store *memory.Store) kubernetes.Interface {
	t.Helper()
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); _ = srv.Close() })
	return kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://" + ln.Addr().String(), QPS: -1})
}

func TestKubernetesServiceIPIsReserved(t *testing.T) {
	ctx := ctxT(t)
	// Without a published address the Service is not created, and still nobody gets its IP.
	ts := newTestServer(t, func(c *apiserver.Config) { c.ServiceCIDR = "10.97.0.0/29" })
	svc := svcOf("mine", "", 80)
	svc.Spec.ClusterIP = "10.97.0.1"
	_, err := ts.client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	invalidField(t, err, "spec.clusterIPs[0]")
	var got []string
	for i := 0; ; i++ {
		s, err := ts.client.CoreV1().Services("default").Create(ctx, svcOf("s"+strconv.Itoa(i), "", 80), metav1.CreateOptions{})
		if err != nil {
			if !apierrors.IsInternalError(err) {
				t.Fatalf("a full range must fail with 500, got %v", err)
			}
			break
		}
		if s.Spec.ClusterIP == "10.97.0.1" {
			t.Fatalf("%s got the kubernetes Service's address", s.Name)
		}
		got = append(got, s.Spec.ClusterIP)
	}
	if len(got) != 5 {
		t.Fatalf("a /29 has 6 usable addresses, one reserved: got %v", got)
	}
	// default/kubernetes itself may take it.
	k := svcOf("kubernetes", "", 443)
	k.Spec.Selector = nil
	k.Spec.ClusterIP = "10.97.0.1"
	if _, err := ts.client.CoreV1().Services("default").Create(ctx, k, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
