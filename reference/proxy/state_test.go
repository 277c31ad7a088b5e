package proxy_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/proxy"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

func service(name string, mut func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10",
		Ports: []corev1.ServicePort{{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
	}}
	if mut != nil {
		mut(s)
	}
	return s
}

type ep struct {
	ip                        string
	ready, serving, terminate *bool
	node                      string
}

func slice(svc, name string, port int32, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("web"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		d := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready, Serving: e.serving, Terminating: e.terminate}}
		if e.node != "" {
			d.NodeName = ptr.To(e.node)
		}
		s.Endpoints = append(s.Endpoints, d)
	}
	return s
}

func readyIPs(vs interfaces.VirtualService) []string {
	var out []string
	for _, e := range vs.Endpoints {
		if e.Ready {
			out = append(out, netip.AddrPortFrom(e.IP, e.Port).String())
		}
	}
	return out
}

func TestDesiredState(t *testing.T) {
	yes, no := ptr.To(true), ptr.To(false)
	cases := []struct {
		name      string
		svc       *corev1.Service
		slices    []*discoveryv1.EndpointSlice
		wantSvcs  int
		wantReady []string
		nodePort  uint16
		affinity  time.Duration
	}{
		{"ready and unset conditions count, not-ready does not", service("a", nil),
			[]*discoveryv1.EndpointSlice{slice("a", "a-1", 8080, ep{ip: "10.1.0.1", ready: yes}, ep{ip: "10.1.0.2"}, ep{ip: "10.1.0.3", ready: no})},
			1, []string{"10.1.0.1:8080", "10.1.0.2:8080"}, 0, 0},
		{"endpoints merge over slices, duplicates once", service("a", nil),
			[]*discoveryv1.EndpointSlice{slice("a", "a-1", 8080, ep{ip: "10.1.0.1", ready: yes}), slice("a", "a-2", 8080, ep{ip: "10.1.0.1", ready: no}, ep{ip: "10.1.0.4", ready: yes})},
			1, []string{"10.1.0.1:8080", "10.1.0.4:8080"}, 0, 0},
		{"slices of other services and other ports are ignored", service("a", nil),
			[]*discoveryv1.EndpointSlice{slice("b", "b-1", 8080, ep{ip: "10.1.0.9", ready: yes}), func() *discoveryv1.EndpointSlice {
				s := slice("a", "a-1", 9090, ep{ip: "10.1.0.8", ready: yes})
				s.Ports[0].Name = ptr.To("other")
				return s
			}()},
			1, nil, 0, 0},
		{"terminating serving endpoints are the fallback when none is ready", service("a", nil),
			[]*discoveryv1.EndpointSlice{slice("a", "a-1", 8080, ep{ip: "10.1.0.1", ready: no, serving: yes, terminate: yes}, ep{ip: "10.1.0.2", ready: no, serving: no, terminate: yes})},
			1, []string{"10.1.0.1:8080"}, 0, 0},
		{"headless services get nothing", service("a", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }),
			[]*discoveryv1.EndpointSlice{slice("a", "a-1", 8080, ep{ip: "10.1.0.1", ready: yes})}, 0, nil, 0, 0},
		{"ExternalName services get nothing", service("a", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName; s.Spec.ClusterIP = "" }),
			nil, 0, nil, 0, 0},
		{"NodePort and ClientIP affinity are carried", service("a", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 30080
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To(int32(60))}}
		}), []*discoveryv1.EndpointSlice{slice("a", "a-1", 8080, ep{ip: "10.1.0.1"})}, 1, []string{"10.1.0.1:8080"}, 30080, time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := proxy.DesiredState([]*corev1.Service{c.svc}, c.slices, "node-1", nil)
			if len(st.Services) != c.wantSvcs {
				t.Fatalf("services = %+v, want %d", st.Services, c.wantSvcs)
			}
			if c.wantSvcs == 0 {
				return
			}
			vs := st.Services[0]
			if vs.Name != "default/a:web" || vs.Port != 80 || vs.ClusterIP.String() != "10.96.0.10" {
				t.Fatalf("virtual service %+v", vs)
			}
			got := readyIPs(vs)
			if len(got) != len(c.wantReady) {
				t.Fatalf("ready endpoints %v, want %v", got, c.wantReady)
			}
			for i := range got {
				if got[i] != c.wantReady[i] {
					t.Fatalf("ready endpoints %v, want %v", got, c.wantReady)
				}
			}
			if vs.NodePort != c.nodePort || vs.AffinityTimeout != c.affinity {
				t.Fatalf("nodePort %d affinity %s, want %d %s", vs.NodePort, vs.AffinityTimeout, c.nodePort, c.affinity)
			}
		})
	}
}

// TestProxyFollowsTheAPIServer runs the proxy component with a recording dataplane against the
// reference API server: it must pick up services and slices, follow changes, read NodePort
// addresses from its Node, and clean up on a clean exit.
func TestProxyFollowsTheAPIServer(t *testing.T) {
	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); _ = srv.Close(); _ = store.Close() })
	cfg := &rest.Config{Host: ts.URL, QPS: -1}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err = client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.240.0.1"}, {Type: corev1.NodeHostName, Address: "n1"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := proxy.NewRecorder()
	p, err := proxy.New(cfg, "n1", proxy.Options{Dataplane: rec})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()

	s := service("web", nil)
	s.Spec.ClusterIP = ""
	s.Spec.Type = corev1.ServiceTypeNodePort
	created, err := client.CoreV1().Services("default").Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice("web", "web-1", 8080, ep{ip: "10.1.0.1", ready: ptr.To(true)}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = rec.WaitFor(ctx, func(st interfaces.ProxyState) bool {
		return len(st.Services) == 1 && len(readyIPs(st.Services[0])) == 1 && st.Services[0].ClusterIP.String() == created.Spec.ClusterIP &&
			st.Services[0].NodePort == uint16(created.Spec.Ports[0].NodePort) && len(st.NodeIPs) == 1 && st.NodeIPs[0].String() == "10.240.0.1"
	})
	if err != nil {
		last, _, _ := rec.Last()
		t.Fatalf("the proxy never programmed the service: %+v", last)
	}
	if err := client.DiscoveryV1().EndpointSlices("default").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rec.WaitFor(ctx, func(st interfaces.ProxyState) bool {
		return len(st.Services) == 1 && len(readyIPs(st.Services[0])) == 0
	}); err != nil {
		t.Fatal("the proxy did not follow the slice's deletion")
	}
	// As upstream kube-proxy, a Starting Event on its Node (UID the node's name).
	var seen []string
	for ctx.Err() == nil {
		list, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		seen = seen[:0]
		for _, ev := range list.Items {
			o := ev.InvolvedObject
			seen = append(seen, fmt.Sprintf("%s %s/%s %s %s", ev.Reason, o.Kind, o.Name, o.UID, ev.ReportingController))
		}
		if slices.Contains(seen, "Starting Node/n1 n1 kube-proxy") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatalf("no Starting Event of kube-proxy on node n1; Events: %q", seen)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, _, cleaned := rec.Last(); !cleaned {
		t.Fatal("a clean exit must clean the dataplane up")
	}
}

func TestDesiredStateExternalTrafficPolicyLocal(t *testing.T) {
	yes, no := ptr.To(true), ptr.To(false)
	svc := service("a", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 30080
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	})
	cases := []struct {
		name                string
		eps                 []ep
		wantCluster, wantNP []string
	}{
		{"NodePort only to this node's endpoints, ClusterIP to all",
			[]ep{{ip: "10.1.0.1", ready: yes, node: "node-1"}, {ip: "10.1.0.2", ready: yes, node: "node-2"}, {ip: "10.1.0.3", ready: yes}},
			[]string{"10.1.0.1:8080", "10.1.0.2:8080", "10.1.0.3:8080"}, []string{"10.1.0.1:8080"}},
		{"no local endpoint: the NodePort has none, though others are ready",
			[]ep{{ip: "10.1.0.2", ready: yes, node: "node-2"}},
			[]string{"10.1.0.2:8080"}, nil},
		{"the terminating fallback applies among the local endpoints",
			[]ep{{ip: "10.1.0.1", ready: no, serving: yes, terminate: yes, node: "node-1"}, {ip: "10.1.0.2", ready: yes, node: "node-2"}},
			[]string{"10.1.0.2:8080"}, []string{"10.1.0.1:8080"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := proxy.DesiredState([]*corev1.Service{svc}, []*discoveryv1.EndpointSlice{slice("a", "a-1", 8080, c.eps...)}, "node-1", nil)
			if len(st.Services) != 2 {
				t.Fatalf("services = %+v, want the ClusterIP and the external NodePort", st.Services)
			}
			cluster, ext := st.Services[0], st.Services[1]
			if cluster.Name != "default/a:web" || cluster.NodePort != 0 || cluster.ExternalLocal || !cluster.ClusterIP.IsValid() {
				t.Errorf("ClusterIP service = %+v, want default/a:web with the ClusterIP and no NodePort", cluster)
			}
			if ext.Name != "default/a:web@external" || ext.NodePort != 30080 || !ext.ExternalLocal || ext.ClusterIP.IsValid() {
				t.Errorf("NodePort service = %+v, want default/a:web@external, NodePort 30080, ExternalLocal, no ClusterIP", ext)
			}
			if got := readyIPs(cluster); !slices.Equal(got, c.wantCluster) {
				t.Errorf("ClusterIP ready endpoints = %v, want %v", got, c.wantCluster)
			}
			if got := readyIPs(ext); !slices.Equal(got, c.wantNP) {
				t.Errorf("NodePort ready endpoints = %v, want %v", got, c.wantNP)
			}
		})
	}
}
