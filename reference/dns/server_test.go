package dns

import (
	"context"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func objects() []runtime.Object {
	ns := func(n string) *corev1.Namespace { return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}} }
	return []runtime.Object{
		ns("default"), ns("team"),
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.3.4", ClusterIPs: []string{"10.96.3.4"}, Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
			}},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team"},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "sql", Port: 5432, Protocol: corev1.ProtocolTCP}}},
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "db-abc", Namespace: "team", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("sql"), Port: ptr.To[int32](15432), Protocol: ptr.To(corev1.ProtocolTCP)}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.1.5"}, Hostname: ptr.To("db-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
				{Addresses: []string{"10.244.2.6"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
				{Addresses: []string{"10.244.2.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "team"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "web.team.svc.cluster.local"},
		},
	}
}

// start serves a Server over the objects on loopback and returns its address.
func start(t *testing.T, upstreams ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := New(fake.NewClientset(objects()...), Config{Upstreams: upstreams, ForwardTimeout: time.Second})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pc, ln, err := ListenUDPAndTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, ln, func() { close(ready) }) }()
	<-ready
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().String()
}

func query(t *testing.T, addr, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	in, _, err := (&mdns.Client{Timeout: 3 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return in
}

// rdata is the answer section's data, sorted.
func rdata(m *mdns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		f := strings.Fields(rr.String())
		out = append(out, mdns.TypeToString[rr.Header().Rrtype]+" "+strings.Join(f[4:], " "))
	}
	sort.Strings(out)
	return out
}

func TestAnswers(t *testing.T) {
	addr := start(t)
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
		want  string
	}{
		{"web.team.svc.cluster.local", mdns.TypeA, mdns.RcodeSuccess, "A 10.96.3.4"},
		{"WEB.Team.svc.cluster.local", mdns.TypeA, mdns.RcodeSuccess, "A 10.96.3.4"},
		{"web.team.svc.cluster.local", mdns.TypeAAAA, mdns.RcodeSuccess, ""},
		{"nope.team.svc.cluster.local", mdns.TypeA, mdns.RcodeNameError, ""},
		{"web.nope.svc.cluster.local", mdns.TypeA, mdns.RcodeNameError, ""},
		{"team.svc.cluster.local", mdns.TypeA, mdns.RcodeSuccess, ""},
		{"nope.svc.cluster.local", mdns.TypeA, mdns.RcodeNameError, ""},
		{"db.team.svc.cluster.local", mdns.TypeA, mdns.RcodeSuccess, "A 10.244.1.5,A 10.244.2.6"},
		{"db-0.db.team.svc.cluster.local", mdns.TypeA, mdns.RcodeSuccess, "A 10.244.1.5"},
		{"10-244-2-6.db.team.svc.cluster.local", mdns.TypeA, mdns.RcodeSuccess, "A 10.244.2.6"},
		{"10-244-2-7.db.team.svc.cluster.local", mdns.TypeA, mdns.RcodeNameError, ""},
		{"_http._tcp.web.team.svc.cluster.local", mdns.TypeSRV, mdns.RcodeSuccess, "SRV 0 100 80 web.team.svc.cluster.local."},
		{"_dns._udp.web.team.svc.cluster.local", mdns.TypeSRV, mdns.RcodeSuccess, "SRV 0 100 53 web.team.svc.cluster.local."},
		{"_http._udp.web.team.svc.cluster.local", mdns.TypeSRV, mdns.RcodeNameError, ""},
		{"_sql._tcp.db.team.svc.cluster.local", mdns.TypeSRV, mdns.RcodeSuccess, "SRV 0 50 15432 10-244-2-6.db.team.svc.cluster.local.,SRV 0 50 15432 db-0.db.team.svc.cluster.local."},
		{"ext.team.svc.cluster.local", mdns.TypeCNAME, mdns.RcodeSuccess, "CNAME web.team.svc.cluster.local."},
		{"ext.team.svc.cluster.local", mdns.TypeA, mdns.RcodeSuccess, "A 10.96.3.4,CNAME web.team.svc.cluster.local."},
		{"10-244-1-9.team.pod.cluster.local", mdns.TypeA, mdns.RcodeSuccess, "A 10.244.1.9"},
		{"not-an-ip.team.pod.cluster.local", mdns.TypeA, mdns.RcodeNameError, ""},
		{"dns-version.cluster.local", mdns.TypeTXT, mdns.RcodeSuccess, "TXT \"1.1.0\""},
		{"4.3.96.10.in-addr.arpa", mdns.TypePTR, mdns.RcodeSuccess, "PTR web.team.svc.cluster.local."},
		{"5.1.244.10.in-addr.arpa", mdns.TypePTR, mdns.RcodeSuccess, "PTR db-0.db.team.svc.cluster.local."},
		{"example.com", mdns.TypeA, mdns.RcodeRefused, ""},
	} {
		t.Run(tc.name+"/"+mdns.TypeToString[tc.qtype], func(t *testing.T) {
			in := query(t, addr, tc.name, tc.qtype)
			if in.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", mdns.RcodeToString[in.Rcode], mdns.RcodeToString[tc.rcode])
			}
			if got := strings.Join(rdata(in), ","); got != tc.want {
				t.Fatalf("answer %q, want %q", got, tc.want)
			}
			if tc.rcode != mdns.RcodeRefused && len(in.Answer) == 0 && len(in.Ns) == 0 {
				t.Fatalf("NXDOMAIN/NODATA without the zone's SOA")
			}
		})
	}
}

func TestTCP(t *testing.T) {
	addr := start(t)
	m := new(mdns.Msg)
	m.SetQuestion("web.team.svc.cluster.local.", mdns.TypeA)
	in, _, err := (&mdns.Client{Net: "tcp", Timeout: 3 * time.Second}).Exchange(m, addr)
	if err != nil || strings.Join(rdata(in), ",") != "A 10.96.3.4" {
		t.Fatalf("over TCP: %v %v", in, err)
	}
}

func TestForward(t *testing.T) {
	// The upstream: a resolver that knows example.com.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		rr, _ := mdns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.7")
		m.Answer = append(m.Answer, rr)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = up.ActivateAndServe() }()
	t.Cleanup(func() { _ = up.Shutdown() })
	addr := start(t, pc.LocalAddr().String())
	in := query(t, addr, "example.com", mdns.TypeA)
	if got := strings.Join(rdata(in), ","); got != "A 192.0.2.7" {
		t.Fatalf("forwarded answer %q", got)
	}
}

func TestUpstreams(t *testing.T) {
	got, err := Upstreams(strings.NewReader("# x\nsearch a.b\nnameserver 10.0.0.2\nnameserver 10.96.0.10\nnameserver fd00::1\noptions ndots:1\n"), "10.96.0.10")
	if err != nil || strings.Join(got, ",") != "10.0.0.2:53,[fd00::1]:53" {
		t.Fatalf("%v %v", got, err)
	}
}

func TestClusterDNSIP(t *testing.T) {
	for cidr, want := range map[string]string{"10.96.0.0/12": "10.96.0.10", "10.96.0.0/16": "10.96.0.10", "fd00:10:96::/108": "fd00:10:96::a"} {
		if a, err := ClusterDNSIP(cidr); err != nil || a.String() != want {
			t.Errorf("%s: %v %v, want %s", cidr, a, err, want)
		}
	}
}
