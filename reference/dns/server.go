package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Defaults of Config.
const (
	DefaultDomain = "cluster.local"
	// DefaultTTL is the TTL of cluster records, kubeadm's CoreDNS "ttl 30".
	DefaultTTL = 30
	// SchemaVersion is the DNS schema version dns-version.DOMAIN answers.
	SchemaVersion = "1.1.0"
)

// Config configures a Server.
type Config struct {
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// TTL of the answers from the API (default 30 s).
	TTL uint32
	// Upstreams are the resolvers (host:port) other names are forwarded to, tried in order;
	// none: other names are REFUSED.
	Upstreams []string
	// ForwardTimeout bounds each upstream exchange (default 2 s).
	ForwardTimeout time.Duration
	// Logf receives log lines (default: discard).
	Logf func(format string, args ...any)
}

// Server answers the Kubernetes DNS schema from informers of a cluster. It is a
// github.com/miekg/dns Handler; Run serves it over UDP and TCP.
type Server struct {
	cfg      Config
	client   kubernetes.Interface
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	nss      corelisters.NamespaceLister
	synced   []cache.InformerSynced
	zone     string // "cluster.local." lower case
}

// New returns a Server of the cluster client talks to; nothing is dialed before Start.
func New(client kubernetes.Interface, cfg Config) *Server {
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ForwardTimeout <= 0 {
		cfg.ForwardTimeout = 2 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	f := informers.NewSharedInformerFactory(client, 0)
	s := &Server{
		cfg: cfg, client: client, factory: f,
		services: f.Core().V1().Services().Lister(),
		slices:   f.Discovery().V1().EndpointSlices().Lister(),
		nss:      f.Core().V1().Namespaces().Lister(),
		zone:     mdns.Fqdn(strings.ToLower(strings.Trim(cfg.Domain, "."))),
	}
	s.synced = []cache.InformerSynced{
		f.Core().V1().Services().Informer().HasSynced,
		f.Discovery().V1().EndpointSlices().Informer().HasSynced,
		f.Core().V1().Namespaces().Informer().HasSynced,
	}
	return s
}

// Start starts the informers and waits until they have synced (or ctx ends).
func (s *Server) Start(ctx context.Context) error {
	s.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return fmt.Errorf("cluster dns: informers did not sync: %w", ctx.Err())
	}
	return nil
}

// Run starts the informers, then serves DNS on addr (host:port) over UDP and TCP until ctx
// ends. ready, if not nil, is called once both listeners are open.
func (s *Server) Run(ctx context.Context, addr string, ready func()) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	pc, ln, err := ListenUDPAndTCP(addr)
	if err != nil {
		return fmt.Errorf("cluster dns: %w", err)
	}
	return s.Serve(ctx, pc, ln, ready)
}

// ListenUDPAndTCP listens on addr over UDP and TCP, on the same port. With port 0 the port the
// UDP socket got may be taken over TCP (an ephemeral port of some connection): then it tries
// another, a few times.
func ListenUDPAndTCP(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
		if port != "0" || attempt == 9 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}

// Serve serves DNS on pc (UDP) and ln (TCP) until ctx ends; the informers must be started
// (Start). It closes both.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn, ln net.Listener, ready func()) error {
	var wg sync.WaitGroup
	wg.Add(2)
	udp := &mdns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: wg.Done}
	tcp := &mdns.Server{Listener: ln, Handler: s, NotifyStartedFunc: wg.Done}
	errs := make(chan error, 2)
	go func() { errs <- udp.ActivateAndServe() }()
	go func() { errs <- tcp.ActivateAndServe() }()
	started := make(chan struct{})
	go func() { wg.Wait(); close(started) }()
	select {
	case <-started:
		if ready != nil {
			ready()
		}
	case err := <-errs:
		udp.Shutdown()
		tcp.Shutdown()
		return fmt.Errorf("cluster dns: serve: %w", err)
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		udp.Shutdown()
		tcp.Shutdown()
		return fmt.Errorf("cluster dns: serve: %w", err)
	}
	return errors.Join(udp.ShutdownContext(context.Background()), tcp.ShutdownContext(context.Background()))
}

// ServeDNS answers one query (mdns.Handler).
func (s *Server) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	m := s.answer(r)
	if m == nil {
		m = new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeServerFailure)
	}
	if err := w.WriteMsg(m); err != nil {
		s.cfg.Logf("cluster dns: write answer: %v", err)
	}
}

// answer builds the reply to r: from the cluster for names under the zone and PTR names of
// cluster addresses, else from an upstream resolver.
func (s *Server) answer(r *mdns.Msg) *mdns.Msg {
	if len(r.Question) != 1 || r.Opcode != mdns.OpcodeQuery {
		m := new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeNotImplemented)
		return m
	}
	q := r.Question[0]
	name := strings.ToLower(mdns.Fqdn(q.Name))
	if q.Qclass == mdns.ClassINET || q.Qclass == mdns.ClassANY {
		if name == s.zone || strings.HasSuffix(name, "."+s.zone) {
			return s.cluster(r, q, strings.TrimSuffix(strings.TrimSuffix(name, s.zone), "."))
		}
		if q.Qtype == mdns.TypePTR {
			if target, ok := s.reverse(name); ok {
				m := reply(r)
				m.Answer = append(m.Answer, &mdns.PTR{Hdr: s.hdr(q.Name, mdns.TypePTR), Ptr: target})
				return m
			}
		}
	}
	return s.forward(r)
}

func reply(r *mdns.Msg) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	return m
}

func (s *Server) hdr(name string, t uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: s.cfg.TTL}
}

// soa is the zone's SOA record, the authority of NXDOMAIN and NODATA answers.
func (s *Server) soa() mdns.RR {
	return &mdns.SOA{
		Hdr: mdns.RR_Header{Name: s.zone, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: s.cfg.TTL},
		Ns:  "ns.dns." + s.zone, Mbox: "hostmaster." + s.zone,
		Serial: uint32(time.Now().Unix()), Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: s.cfg.TTL,
	}
}

// forward relays r to the upstream resolvers in turn: the first answer wins; none configured
// is REFUSED, none answering is SERVFAIL.
func (s *Server) forward(r *mdns.Msg) *mdns.Msg {
	if len(s.cfg.Upstreams) == 0 {
		m := new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeRefused)
		return m
	}
	c := &mdns.Client{Timeout: s.cfg.ForwardTimeout}
	for _, up := range s.cfg.Upstreams {
		in, _, err := c.Exchange(r, up)
		if err != nil {
			s.cfg.Logf("cluster dns: forward %s to %s: %v", r.Question[0].Name, up, err)
			continue
		}
		if in.Truncated {
			tc := &mdns.Client{Net: "tcp", Timeout: s.cfg.ForwardTimeout}
			if in2, _, err := tc.Exchange(r, up); err == nil {
				in = in2
			}
		}
		in.Id = r.Id
		return in
	}
	m := new(mdns.Msg)
	m.SetRcode(r, mdns.RcodeServerFailure)
	return m
}
