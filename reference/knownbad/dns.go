package knownbad

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/reference/dns"
)

// dnsServer is what the known-bad DNS servers wrap: the reference server (reference/dns), a
// DNS handler whose Start syncs its informers.
type dnsServer interface {
	mdns.Handler
	Start(ctx context.Context) error
}

// dnsRecorder catches the message a wrapped handler writes instead of sending it.
type dnsRecorder struct {
	mdns.ResponseWriter
	msg *mdns.Msg
}

func (r *dnsRecorder) WriteMsg(m *mdns.Msg) error {
	r.msg = m
	return nil
}

// innerAnswer is what inner answers r (nil if it wrote nothing).
func innerAnswer(inner mdns.Handler, w mdns.ResponseWriter, r *mdns.Msg) *mdns.Msg {
	rec := &dnsRecorder{ResponseWriter: w}
	inner.ServeDNS(rec, r)
	return rec.msg
}

// DNSCachingForever is a cluster DNS with a cache that never expires: the first answer with
// records to a question is kept and served for ever after, so a Service deleted and created
// again with another cluster IP keeps its old address, and a headless Service its old
// endpoints (a DNS that ignores the TTL of its own cache).
type DNSCachingForever struct {
	inner dnsServer
	mu    sync.Mutex
	cache map[mdns.Question]*mdns.Msg
}

// NewDNSCachingForever wraps a cluster DNS server.
func NewDNSCachingForever(inner dnsServer) *DNSCachingForever {
	return &DNSCachingForever{inner: inner, cache: map[mdns.Question]*mdns.Msg{}}
}

// Start starts the wrapped server.
func (d *DNSCachingForever) Start(ctx context.Context) error { return d.inner.Start(ctx) }

// ServeDNS answers from the cache, else from the wrapped server, caching an answer that
// holds records.
func (d *DNSCachingForever) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	if len(r.Question) != 1 {
		d.inner.ServeDNS(w, r)
		return
	}
	q := r.Question[0]
	q.Name = strings.ToLower(q.Name)
	d.mu.Lock()
	cached := d.cache[q]
	d.mu.Unlock()
	if cached != nil {
		m := cached.Copy()
		m.Id = r.Id
		m.Question = r.Question
		_ = w.WriteMsg(m)
		return
	}
	m := innerAnswer(d.inner, w, r)
	if m == nil {
		return
	}
	if m.Rcode == mdns.RcodeSuccess && len(m.Answer) > 0 {
		d.mu.Lock()
		d.cache[q] = m.Copy()
		d.mu.Unlock()
	}
	_ = w.WriteMsg(m)
}

// DNSNXDomainForNoData is a cluster DNS that answers NXDOMAIN whenever it has no record of
// the asked type, also for names that exist (AAAA of an IPv4 Service): a client's resolver
// then gives up on the name for every type (RFC 8020) instead of asking for the other.
type DNSNXDomainForNoData struct {
	Inner dnsServer
}

// Start starts the wrapped server.
func (d DNSNXDomainForNoData) Start(ctx context.Context) error { return d.Inner.Start(ctx) }

// ServeDNS turns the wrapped server's NODATA answers into NXDOMAIN.
func (d DNSNXDomainForNoData) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	m := innerAnswer(d.Inner, w, r)
	if m == nil {
		return
	}
	if m.Rcode == mdns.RcodeSuccess && len(m.Answer) == 0 {
		m.Rcode = mdns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

// DNSPublishingNotReady is a cluster DNS that answers a headless Service's name with the
// addresses of all its endpoints, ready or not: clients are sent to pods that are starting,
// failing their readiness probe or terminating.
type DNSPublishingNotReady struct {
	inner    dnsServer
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	synced   []cache.InformerSynced
	zone     string
	ttl      uint32
}

// NewDNSPublishingNotReady returns the reference server with the bug, for client's cluster.
func NewDNSPublishingNotReady(client kubernetes.Interface, cfg dns.Config) *DNSPublishingNotReady {
	f := informers.NewSharedInformerFactory(client, 0)
	domain := cfg.Domain
	if domain == "" {
		domain = dns.DefaultDomain
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = dns.DefaultTTL
	}
	d := &DNSPublishingNotReady{
		inner: dns.New(client, cfg), factory: f,
		services: f.Core().V1().Services().Lister(),
		slices:   f.Discovery().V1().EndpointSlices().Lister(),
		zone:     mdns.Fqdn(strings.ToLower(strings.Trim(domain, "."))),
		ttl:      ttl,
	}
	d.synced = []cache.InformerSynced{f.Core().V1().Services().Informer().HasSynced, f.Discovery().V1().EndpointSlices().Informer().HasSynced}
	return d
}

// Start starts the wrapped server and the informers the bug reads.
func (d *DNSPublishingNotReady) Start(ctx context.Context) error {
	d.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), d.synced...) {
		return fmt.Errorf("known-bad dns: informers did not sync: %w", ctx.Err())
	}
	return d.inner.Start(ctx)
}

// ServeDNS adds the not-ready endpoints to the A answer of a headless Service's name.
func (d *DNSPublishingNotReady) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	m := innerAnswer(d.inner, w, r)
	if m == nil {
		return
	}
	if len(r.Question) == 1 && r.Question[0].Qtype == mdns.TypeA {
		name := strings.ToLower(r.Question[0].Name)
		// SVC.NS.svc.ZONE
		if l := strings.Split(strings.TrimSuffix(name, "."+d.zone), "."); strings.HasSuffix(name, "."+d.zone) && len(l) == 3 && l[2] == "svc" {
			d.addNotReady(m, r.Question[0].Name, l[1], l[0])
		}
	}
	_ = w.WriteMsg(m)
}

func (d *DNSPublishingNotReady) addNotReady(m *mdns.Msg, qname, ns, name string) {
	svc, err := d.services.Services(ns).Get(name)
	if err != nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		return
	}
	slices, err := d.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}))
	if err != nil {
		return
	}
	for _, sl := range slices {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if ip := net.ParseIP(a).To4(); ip != nil {
					m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: qname, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: d.ttl}, A: ip})
				}
			}
		}
	}
	if len(m.Answer) > 0 {
		m.Rcode, m.Ns = mdns.RcodeSuccess, nil
	}
}
