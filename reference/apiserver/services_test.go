package apiserver_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

func withRanges(cidr, ports string) option {
	return func(c *apiserver.Config) { c.ServiceCIDR, c.NodePortRange = cidr, ports }
}

func svcOf(name string, typ corev1.ServiceType, ports ...int32) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}}}
	for i, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", i), Port: p})
	}
	return s
}

func invalidField(t *testing.T, err error, path string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 naming %s, got %v", path, err)
	}
	for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
		if c.Field == path {
			return
		}
	}
	t.Fatalf("422 does not name %s: %v", path, err)
}

func TestServiceClusterIPAllocation(t *testing.T) {
	ts := newTestServer(t, withRanges("10.97.0.0/29", "30000-30002"))
	ctx := ctxT(t)
	svcs := ts.client.CoreV1().Services("default")
	prefix := netip.MustParsePrefix("10.97.0.0/29")
	seen := map[string]bool{}
	for i := 0; i < 5; i++ { // a /29 has 6 usable addresses, the first reserved for the kubernetes Service
		s, err := svcs.Create(ctx, svcOf(fmt.Sprintf("s%d", i), "", 80), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		ip := netip.MustParseAddr(s.Spec.ClusterIP)
		if !prefix.Contains(ip) || ip == prefix.Addr() || ip.String() == "10.97.0.7" || ip.String() == "10.97.0.1" {
			t.Fatalf("clusterIP %s is not a usable address of %s", ip, prefix)
		}
		if seen[ip.String()] {
			t.Fatalf("clusterIP %s handed out twice", ip)
		}
		seen[ip.String()] = true
		if len(s.Spec.ClusterIPs) != 1 || s.Spec.ClusterIPs[0] != s.Spec.ClusterIP ||
			len(s.Spec.IPFamilies) != 1 || s.Spec.IPFamilies[0] != corev1.IPv4Protocol ||
			s.Spec.IPFamilyPolicy == nil || *s.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
			t.Fatalf("clusterIPs/ipFamilies not filled in: %+v", s.Spec)
		}
	}
	_, err := svcs.Create(ctx, svcOf("full", "", 80), metav1.CreateOptions{})
	if !apierrors.IsInternalError(err) {
		t.Fatalf("create in a full range: want 500, got %v", err)
	}
	if _, err := svcs.Get(ctx, "full", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a service whose allocation failed was stored: %v", err)
	}
	s0, _ := svcs.Get(ctx, "s0", metav1.GetOptions{})
	if err := svcs.Delete(ctx, "s0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := svcs.Create(ctx, svcOf("again", "", 80), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create after a delete released an IP: %v", err)
	}
	if again.Spec.ClusterIP != s0.Spec.ClusterIP {
		t.Fatalf("the released IP %s was not reused (got %s)", s0.Spec.ClusterIP, again.Spec.ClusterIP)
	}
	ips, _ := ts.srv.AllocatedServiceIPs(ctx)
	if len(ips) != 5 {
		t.Fatalf("allocated IPs in the store = %v, want 5", ips)
	}
}

func TestServiceRequestedClusterIP(t *testing.T) {
	ts := newTestServer(t, withRanges("10.97.0.0/24", ""))
	ctx := ctxT(t)
	svcs := ts.client.CoreV1().Services("default")
	for _, tc := range []struct {
		name, ip string
		ok       bool
	}{
		{"in-range", "10.97.0.10", true},
		{"taken", "10.97.0.10", false},
		{"outside", "10.98.0.10", false},
		{"network-address", "10.97.0.0", false},
		{"broadcast", "10.97.0.255", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := svcOf(tc.name, "", 80)
			s.Spec.ClusterIP = tc.ip
			got, err := svcs.Create(ctx, s, metav1.CreateOptions{})
			if tc.ok {
				if err != nil || got.Spec.ClusterIP != tc.ip {
					t.Fatalf("create with clusterIP %s: %v %v", tc.ip, got, err)
				}
				return
			}
			invalidField(t, err, "spec.clusterIPs[0]")
		})
	}
	s := svcOf("v6", "", 80)
	s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
	_, err := svcs.Create(ctx, s, metav1.CreateOptions{})
	invalidField(t, err, "spec.ipFamilies[0]")
}

func TestServiceHeadlessAndExternalName(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	svcs := ts.client.CoreV1().Services("default")
	h := svcOf("headless", "", 80)
	h.Spec.ClusterIP = corev1.ClusterIPNone
	got, err := svcs.Create(ctx, h, metav1.CreateOptions{})
	if err != nil || got.Spec.ClusterIP != corev1.ClusterIPNone || len(got.Spec.ClusterIPs) != 1 || got.Spec.ClusterIPs[0] != corev1.ClusterIPNone {
		t.Fatalf("headless: %v %+v", err, got)
	}
	e := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	got, err = svcs.Create(ctx, e, metav1.CreateOptions{})
	if err != nil || got.Spec.ClusterIP != "" {
		t.Fatalf("ExternalName: %v %+v", err, got)
	}
	if ips, _ := ts.srv.AllocatedServiceIPs(ctx); len(ips) != 0 {
		t.Fatalf("headless/ExternalName services took IPs: %v", ips)
	}
	hn := svcOf("headless-np", corev1.ServiceTypeNodePort, 80)
	hn.Spec.ClusterIP = corev1.ClusterIPNone
	_, err = svcs.Create(ctx, hn, metav1.CreateOptions{})
	invalidField(t, err, "spec.clusterIPs[0]")
}

func TestServiceNodePorts(t *testing.T) {
	ts := newTestServer(t, withRanges("", "30000-30003"))
	ctx := ctxT(t)
	svcs := ts.client.CoreV1().Services("default")
	a, err := svcs.Create(ctx, svcOf("a", corev1.ServiceTypeNodePort, 80, 81), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p0, p1 := a.Spec.Ports[0].NodePort, a.Spec.Ports[1].NodePort
	if p0 < 30000 || p0 > 30003 || p1 < 30000 || p1 > 30003 || p0 == p1 {
		t.Fatalf("node ports %d %d not distinct in 30000-30003", p0, p1)
	}
	for _, tc := range []struct {
		name string
		port int32
	}{{"taken", p0}, {"outside", 31000}} {
		t.Run(tc.name, func(t *testing.T) {
			s := svcOf("b-"+tc.name, corev1.ServiceTypeNodePort, 80)
			s.Spec.Ports[0].NodePort = tc.port
			_, err := svcs.Create(ctx, s, metav1.CreateOptions{})
			invalidField(t, err, "spec.ports[0].nodePort")
		})
	}
	// TCP and UDP of one service port share one node port.
	both := svcOf("both", corev1.ServiceTypeNodePort, 53, 53)
	both.Spec.Ports[1].Protocol = corev1.ProtocolUDP
	got, err := svcs.Create(ctx, both, metav1.CreateOptions{})
	if err != nil || got.Spec.Ports[0].NodePort != got.Spec.Ports[1].NodePort {
		t.Fatalf("TCP+UDP node ports: %v %+v", err, got)
	}
	if _, err := svcs.Create(ctx, svcOf("c", corev1.ServiceTypeNodePort, 80, 81), metav1.CreateOptions{}); !apierrors.IsInternalError(err) {
		t.Fatalf("node port range full: want 500, got %v", err)
	}
	if ports, _ := ts.srv.AllocatedNodePorts(ctx); len(ports) != 3 {
		t.Fatalf("allocated node ports = %v, want 3 (a partly failed create must give back what it took)", ports)
	}
	if err := svcs.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ports, _ := ts.srv.AllocatedNodePorts(ctx); len(ports) != 1 {
		t.Fatalf("after delete: node ports %v, want 1", ports)
	}
}

func TestServiceTypeChanges(t *testing.T) {
	ts := newTestServer(t, withRanges("10.97.0.0/24", "30000-30100"))
	ctx := ctxT(t)
	svcs := ts.client.CoreV1().Services("default")
	patch := func(name, body string) (*corev1.Service, error) {
		return svcs.Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{})
	}
	s, err := svcs.Create(ctx, svcOf("t", "", 80), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := s.Spec.ClusterIP

	s, err = patch("t", `{"spec":{"type":"NodePort"}}`)
	if err != nil || s.Spec.ClusterIP != ip || s.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("ClusterIP -> NodePort must keep the IP and allocate a node port: %v %+v", err, s)
	}
	if ports, _ := ts.srv.AllocatedNodePorts(ctx); len(ports) != 1 {
		t.Fatalf("node ports after -> NodePort: %v", ports)
	}
	// A PUT without the allocated values keeps them.
	put := s.DeepCopy()
	put.Spec.ClusterIP, put.Spec.ClusterIPs, put.Spec.Ports[0].NodePort = "", nil, 0
	s2, err := svcs.Update(ctx, put, metav1.UpdateOptions{})
	if err != nil || s2.Spec.ClusterIP != ip || s2.Spec.Ports[0].NodePort != s.Spec.Ports[0].NodePort {
		t.Fatalf("PUT without allocated values must keep them: %v %+v", err, s2)
	}
	s, err = patch("t", `{"spec":{"type":"ClusterIP"}}`)
	if err != nil || s.Spec.Ports[0].NodePort != 0 || s.Spec.ExternalTrafficPolicy != "" || s.Spec.ClusterIP != ip {
		t.Fatalf("NodePort -> ClusterIP must drop the node port: %v %+v", err, s)
	}
	if ports, _ := ts.srv.AllocatedNodePorts(ctx); len(ports) != 0 {
		t.Fatalf("node port not released after -> ClusterIP: %v", ports)
	}
	_, err = patch("t", `{"spec":{"clusterIP":"10.97.0.200","clusterIPs":["10.97.0.200"]}}`)
	invalidField(t, err, "spec.clusterIP")

	s, err = patch("t", `{"spec":{"type":"ExternalName","externalName":"example.com"}}`)
	if err != nil || s.Spec.ClusterIP != "" || len(s.Spec.ClusterIPs) != 0 {
		t.Fatalf("ClusterIP -> ExternalName must drop the IP: %v %+v", err, s)
	}
	if ips, _ := ts.srv.AllocatedServiceIPs(ctx); len(ips) != 0 {
		t.Fatalf("IP not released after -> ExternalName: %v", ips)
	}
	s, err = patch("t", `{"spec":{"type":"ClusterIP","externalName":null}}`)
	if err != nil || s.Spec.ClusterIP == "" {
		t.Fatalf("ExternalName -> ClusterIP must allocate an IP: %v %+v", err, s)
	}
	// A failed update gives back what it took.
	other, err := svcs.Create(ctx, svcOf("other", corev1.ServiceTypeNodePort, 80), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = patch("t", fmt.Sprintf(`{"spec":{"type":"NodePort","ports":[{"name":"p0","port":80,"nodePort":30050},{"name":"p1","port":81,"nodePort":%d}]}}`, other.Spec.Ports[0].NodePort))
	invalidField(t, err, "spec.ports[1].nodePort")
	if ports, _ := ts.srv.AllocatedNodePorts(ctx); len(ports) != 1 {
		t.Fatalf("a failed update leaked node ports: %v", ports)
	}
}

func TestServiceAllocationSurvivesRestart(t *testing.T) {
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	ctx := ctxT(t)
	start := func(now time.Time) (*apiserver.Server, kubernetes.Interface, func()) {
		srv, err := apiserver.New(apiserver.Config{Store: store, ServiceCIDR: "10.97.0.0/28", Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		h := httptest.NewServer(srv.Handler())
		return srv, kubernetes.NewForConfigOrDie(&rest.Config{Host: h.URL, QPS: -1}), func() { h.Close(); _ = srv.Close() }
	}
	t0 := time.Now()
	_, c1, stop1 := start(t0)
	var first []string
	for i := 0; i < 7; i++ {
		s, err := c1.CoreV1().Services("default").Create(ctx, svcOf(fmt.Sprintf("a%d", i), "", 80), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, s.Spec.ClusterIP)
	}
	stop1()
	// A crash between taking an IP and storing the service leaves a leaked key.
	leak, _ := json.Marshal(map[string]any{"namespace": "default", "name": "ghost", "uid": "dead", "allocatedAt": t0})
	taken := map[string]bool{}
	for _, ip := range first {
		taken[ip] = true
	}
	free := ""
	for i := 2; i <= 14 && free == ""; i++ { // 10.97.0.1 is the kubernetes Service's
		if ip := fmt.Sprintf("10.97.0.%d", i); !taken[ip] {
			free = ip
		}
	}
	if _, err := store.Create(ctx, "/registry/ranges/serviceips/"+free, leak); err != nil {
		t.Fatal(err)
	}
	srv2, c2, stop2 := start(t0.Add(2 * time.Minute)) // the leak is older than the repair grace
	defer stop2()
	all := map[string]bool{}
	for _, ip := range first {
		all[ip] = true
	}
	for i := 0; i < 6; i++ { // a /28 has 14 usable addresses, one reserved: exactly the rest
		s, err := c2.CoreV1().Services("default").Create(ctx, svcOf(fmt.Sprintf("b%d", i), "", 80), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %d after restart: %v", i, err)
		}
		if all[s.Spec.ClusterIP] {
			t.Fatalf("IP %s handed out twice across a restart", s.Spec.ClusterIP)
		}
		all[s.Spec.ClusterIP] = true
	}
	ips, _ := srv2.AllocatedServiceIPs(ctx)
	sort.Strings(ips)
	if len(ips) != 13 {
		t.Fatalf("allocated %v, want all 13 that are not reserved", ips)
	}
}

func TestServiceRepairKeepsYoungAllocations(t *testing.T) {
	ts := newTestServer(t, withRanges("10.97.0.0/28", ""))
	ctx := ctxT(t)
	young, _ := json.Marshal(map[string]any{"uid": "inflight", "allocatedAt": time.Now()})
	if _, err := ts.store.Create(ctx, "/registry/ranges/serviceips/10.97.0.3", young); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.RepairAllocations(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ips, _ := ts.srv.AllocatedServiceIPs(ctx); len(ips) != 1 {
		t.Fatalf("a young allocation was repaired away: %v", ips)
	}
	// A service whose key is missing (store restored from elsewhere) gets it back.
	s, err := ts.client.CoreV1().Services("default").Create(ctx, svcOf("x", "", 80), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.Delete(ctx, "/registry/ranges/serviceips/"+s.Spec.ClusterIP, 0); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.RepairAllocations(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.Get(ctx, "/registry/ranges/serviceips/"+s.Spec.ClusterIP); err != nil {
		t.Fatalf("repair did not restore the key of %s: %v", s.Spec.ClusterIP, err)
	}
}

func TestServiceConcurrentCreatesNeverShareAnIP(t *testing.T) {
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	ctx := ctxT(t)
	// Two API servers on one store, as in an HA control plane.
	var clients []kubernetes.Interface
	for i := 0; i < 2; i++ {
		srv, err := apiserver.New(apiserver.Config{Store: store, ServiceCIDR: "10.97.0.0/27"})
		if err != nil {
			t.Fatal(err)
		}
		h := httptest.NewServer(srv.Handler())
		t.Cleanup(func() { h.Close(); _ = srv.Close() })
		clients = append(clients, kubernetes.NewForConfigOrDie(&rest.Config{Host: h.URL, QPS: -1}))
	}
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < 29; i++ { // 30 usable addresses, one reserved for the kubernetes Service
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := clients[i%2].CoreV1().Services("default").Create(ctx, svcOf(fmt.Sprintf("c%d", i), "", 80), metav1.CreateOptions{})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, dup := got[s.Spec.ClusterIP]; dup {
				t.Errorf("IP %s given to %s and %s", s.Spec.ClusterIP, prev, s.Name)
			}
			got[s.Spec.ClusterIP] = s.Name
		}()
	}
	wg.Wait()

}
