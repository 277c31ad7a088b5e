package dns

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// maxCNAMEChase bounds how many CNAMEs (ExternalName Services naming each other) one answer
// follows.
const maxCNAMEChase = 8

// records are what a name under the zone holds: exists is false for NXDOMAIN.
type records struct {
	exists bool
	answer []mdns.RR
	extra  []mdns.RR
	// cname is an ExternalName Service's target, to follow for other types than CNAME.
	cname string
}

// cluster answers q for rel, the lower-case name relative to the zone ("" for the apex).
func (s *Server) cluster(r *mdns.Msg, q mdns.Question, rel string) *mdns.Msg {
	m := reply(r)
	rec := s.lookup(q, rel)
	m.Answer = append(m.Answer, rec.answer...)
	m.Extra = append(m.Extra, rec.extra...)
	target := rec.cname
	for i := 0; target != "" && i < maxCNAMEChase; i++ {
		sub := new(mdns.Msg)
		sub.SetQuestion(target, q.Qtype)
		sub.RecursionDesired = true
		target = ""
		tname := strings.ToLower(sub.Question[0].Name)
		if tname == s.zone || strings.HasSuffix(tname, "."+s.zone) {
			more := s.lookup(sub.Question[0], strings.TrimSuffix(strings.TrimSuffix(tname, s.zone), "."))
			m.Answer = append(m.Answer, more.answer...)
			target = more.cname
			continue
		}
		if in := s.forward(sub); in != nil && in.Rcode == mdns.RcodeSuccess {
			m.Answer = append(m.Answer, in.Answer...)
		}
	}
	if !rec.exists {
		m.Rcode = mdns.RcodeNameError
	}
	if len(m.Answer) == 0 {
		m.Ns = []mdns.RR{s.soa()}
	}
	return m
}

// lookup finds the records of rel (relative, lower case) of type q.Qtype.
func (s *Server) lookup(q mdns.Question, rel string) records {
	if rel == "" {
		if q.Qtype == mdns.TypeSOA {
			return records{exists: true, answer: []mdns.RR{s.soa()}}
		}
		return records{exists: true}
	}
	if rel == "dns-version" {
		if q.Qtype == mdns.TypeTXT || q.Qtype == mdns.TypeANY {
			return records{exists: true, answer: []mdns.RR{&mdns.TXT{Hdr: s.hdr(q.Name, mdns.TypeTXT), Txt: []string{SchemaVersion}}}}
		}
		return records{exists: true}
	}
	l := strings.Split(rel, ".")
	switch l[len(l)-1] {
	case "svc":
		return s.lookupService(q, l[:len(l)-1])
	case "pod":
		return s.lookupPod(q, l[:len(l)-1])
	}
	return records{}
}

func (s *Server) namespaceExists(ns string) bool {
	_, err := s.nss.Get(ns)
	return err == nil
}

// lookupService answers names under svc.DOMAIN: l is what precedes "svc", e.g.
// [name ns], [hostname name ns], [_port _proto name ns].
func (s *Server) lookupService(q mdns.Question, l []string) records {
	switch len(l) {
	case 0:
		return records{exists: true}
	case 1:
		return records{exists: s.namespaceExists(l[0])}
	}
	ns, name := l[len(l)-1], l[len(l)-2]
	svc, err := s.services.Services(ns).Get(name)
	if err != nil {
		return records{}
	}
	svcName := name + "." + ns + ".svc." + s.zone
	switch len(l) {
	case 2:
		return s.serviceRecords(q, svc, svcName)
	case 3:
		if !headless(svc) {
			return records{}
		}
		var rec records
		for _, ep := range s.endpoints(svc) {
			if ep.host != l[0] {
				continue
			}
			rec.exists = true
			if rr := s.addressRR(q.Name, q.Qtype, ep.addr); rr != nil {
				rec.answer = append(rec.answer, rr)
			}
		}
		return rec
	case 4:
		if !strings.HasPrefix(l[0], "_") || !strings.HasPrefix(l[1], "_") {
			return records{}
		}
		return s.portRecords(q, svc, svcName, l[0][1:], l[1][1:])
	}
	return records{}
}

// serviceRecords answers the Service's own name.
func (s *Server) serviceRecords(q mdns.Question, svc *corev1.Service, svcName string) records {
	rec := records{exists: true}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.ExternalName == "" {
			return rec
		}
		target := mdns.Fqdn(svc.Spec.ExternalName)
		rec.answer = []mdns.RR{&mdns.CNAME{Hdr: s.hdr(q.Name, mdns.TypeCNAME), Target: target}}
		if q.Qtype != mdns.TypeCNAME && q.Qtype != mdns.TypeANY {
			rec.cname = target
		}
		return rec
	}
	if q.Qtype == mdns.TypeSRV {
		return s.portRecords(q, svc, svcName, "", "")
	}
	if headless(svc) {
		for _, ep := range s.endpoints(svc) {
			if rr := s.addressRR(q.Name, q.Qtype, ep.addr); rr != nil {
				rec.answer = append(rec.answer, rr)
			}
		}
		return rec
	}
	for _, ip := range clusterIPs(svc) {
		if a, err := netip.ParseAddr(ip); err == nil {
			if rr := s.addressRR(q.Name, q.Qtype, a); rr != nil {
				rec.answer = append(rec.answer, rr)
			}
		}
	}
	return rec
}

// portRecords are the SRV records of the Service's port named port with protocol proto
// (every port when both are empty): the Service's name and port for a ClusterIP Service, each
// ready endpoint's name and port for a headless one. A port the Service does not have is
// NXDOMAIN.
func (s *Server) portRecords(q mdns.Question, svc *corev1.Service, svcName, port, proto string) records {
	all := port == "" && proto == ""
	match := func(name string, p corev1.Protocol) bool {
		return all || (name == port && strings.ToLower(string(p)) == proto)
	}
	rec := records{}
	if headless(svc) {
		for _, sp := range svc.Spec.Ports {
			if match(sp.Name, sp.Protocol) {
				rec.exists = true
			}
		}
		eps := s.endpoints(svc)
		for _, ep := range eps {
			for _, p := range ep.ports {
				if p.Port == nil || !match(ptrString(p.Name), protocolOf(p.Protocol)) {
					continue
				}
				rec.exists = true
				if q.Qtype != mdns.TypeSRV && q.Qtype != mdns.TypeANY {
					continue
				}
				target := ep.host + "." + svcName
				rec.answer = append(rec.answer, &mdns.SRV{Hdr: s.hdr(q.Name, mdns.TypeSRV), Priority: 0, Weight: weight(len(eps)), Port: uint16(*p.Port), Target: target})
				if rr := s.addressRR(target, addrType(ep.addr), ep.addr); rr != nil {
					rec.extra = append(rec.extra, rr)
				}
			}
		}
		if all {
			rec.exists = true
		}
		return rec
	}
	for _, sp := range svc.Spec.Ports {
		if !match(sp.Name, sp.Protocol) {
			continue
		}
		rec.exists = true
		if q.Qtype != mdns.TypeSRV && q.Qtype != mdns.TypeANY {
			continue
		}
		rec.answer = append(rec.answer, &mdns.SRV{Hdr: s.hdr(q.Name, mdns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(sp.Port), Target: svcName})
		for _, ip := range clusterIPs(svc) {
			if a, err := netip.ParseAddr(ip); err == nil {
				if rr := s.addressRR(svcName, addrType(a), a); rr != nil {
					rec.extra = append(rec.extra, rr)
				}
			}
		}
	}
	if all {
		rec.exists = true
	}
	return rec
}

// lookupPod answers a-b-c-d.ns.pod.DOMAIN with the address in the name, as CoreDNS's
// "pods insecure" (kubeadm's setting) does: l is what precedes "pod".
func (s *Server) lookupPod(q mdns.Question, l []string) records {
	switch len(l) {
	case 0:
		return records{exists: true}
	case 1:
		return records{exists: s.namespaceExists(l[0])}
	case 2:
	default:
		return records{}
	}
	a, ok := dashedAddr(l[0])
	if !ok {
		return records{}
	}
	rec := records{exists: true}
	if rr := s.addressRR(q.Name, q.Qtype, a); rr != nil {
		rec.answer = []mdns.RR{rr}
	}
	return rec
}

// addressRR is the A or AAAA record of a for name, or nil when qtype asks for the other
// family or another type.
func (s *Server) addressRR(name string, qtype uint16, a netip.Addr) mdns.RR {
	switch {
	case a.Is4() && (qtype == mdns.TypeA || qtype == mdns.TypeANY):
		return &mdns.A{Hdr: s.hdr(name, mdns.TypeA), A: a.AsSlice()}
	case a.Is6() && !a.Is4In6() && (qtype == mdns.TypeAAAA || qtype == mdns.TypeANY):
		return &mdns.AAAA{Hdr: s.hdr(name, mdns.TypeAAAA), AAAA: a.AsSlice()}
	}
	return nil
}

func addrType(a netip.Addr) uint16 {
	if a.Is4() {
		return mdns.TypeA
	}
	return mdns.TypeAAAA
}

func weight(n int) uint16 {
	if n <= 1 {
		return 100
	}
	if w := 100 / n; w > 0 {
		return uint16(w)
	}
	return 1
}

// endpoint is one address of a headless Service's ready endpoints.
type endpoint struct {
	addr  netip.Addr
	host  string // the endpoint's hostname, else its address with dashes
	ports []discoveryv1.EndpointPort
}

func headless(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP == corev1.ClusterIPNone
}

func clusterIPs(svc *corev1.Service) []string {
	if len(svc.Spec.ClusterIPs) > 0 {
		return svc.Spec.ClusterIPs
	}
	if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		return []string{svc.Spec.ClusterIP}
	}
	return nil
}

// endpoints are the ready endpoint addresses of svc from its EndpointSlices (every address
// when the Service publishes not-ready addresses), each once, in address order.
func (s *Server) endpoints(svc *corev1.Service) []endpoint {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name})
	slices, err := s.slices.EndpointSlices(svc.Namespace).List(sel)
	if err != nil {
		return nil
	}
	seen := map[netip.Addr]bool{}
	var out []endpoint
	for _, sl := range slices {
		for _, ep := range sl.Endpoints {
			if !svc.Spec.PublishNotReadyAddresses && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil || seen[addr] {
					continue
				}
				seen[addr] = true
				host := dashed(addr)
				if ep.Hostname != nil && *ep.Hostname != "" {
					host = strings.ToLower(*ep.Hostname)
				}
				out = append(out, endpoint{addr: addr, host: host, ports: sl.Ports})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].addr.Less(out[j].addr) })
	return out
}

// dashed writes an address as one DNS label: 10-244-1-5, or 2001-db8--1.
func dashed(a netip.Addr) string {
	return strings.ReplaceAll(strings.ReplaceAll(a.String(), ".", "-"), ":", "-")
}

// dashedAddr reads a label written by dashed.
func dashedAddr(label string) (netip.Addr, bool) {
	if parts := strings.Split(label, "-"); len(parts) == 4 {
		if a, err := netip.ParseAddr(strings.Join(parts, ".")); err == nil && a.Is4() {
			return a, true
		}
	}
	a, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":"))
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func protocolOf(p *corev1.Protocol) corev1.Protocol {
	if p == nil {
		return corev1.ProtocolTCP
	}
	return *p
}

// reverse is the cluster name of the address a PTR name (in-addr.arpa, ip6.arpa) stands for:
// a Service's cluster IP or a headless Service's endpoint.
func (s *Server) reverse(name string) (string, bool) {
	a, ok := reverseAddr(name)
	if !ok {
		return "", false
	}
	svcs, err := s.services.List(labels.Everything())
	if err != nil {
		return "", false
	}
	sort.Slice(svcs, func(i, j int) bool {
		return svcs[i].Namespace+"/"+svcs[i].Name < svcs[j].Namespace+"/"+svcs[j].Name
	})
	for _, svc := range svcs {
		for _, ip := range clusterIPs(svc) {
			if b, err := netip.ParseAddr(ip); err == nil && b == a {
				return svc.Name + "." + svc.Namespace + ".svc." + s.zone, true
			}
		}
	}
	for _, svc := range svcs {
		if !headless(svc) {
			continue
		}
		for _, ep := range s.endpoints(svc) {
			if ep.addr == a {
				return ep.host + "." + svc.Name + "." + svc.Namespace + ".svc." + s.zone, true
			}
		}
	}
	return "", false
}

// reverseAddr parses a PTR name into its address.
func reverseAddr(name string) (netip.Addr, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	switch {
	case strings.HasSuffix(name, ".in-addr.arpa"):
		l := strings.Split(strings.TrimSuffix(name, ".in-addr.arpa"), ".")
		if len(l) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, x := range l {
			n, err := strconv.ParseUint(x, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	case strings.HasSuffix(name, ".ip6.arpa"):
		l := strings.Split(strings.TrimSuffix(name, ".ip6.arpa"), ".")
		if len(l) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, x := range l {
			n, err := strconv.ParseUint(x, 16, 4)
			if err != nil || len(x) != 1 {
				return netip.Addr{}, false
			}
			j := 31 - i
			if j%2 == 0 {
				b[j/2] |= byte(n) << 4
			} else {
				b[j/2] |= byte(n)
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
