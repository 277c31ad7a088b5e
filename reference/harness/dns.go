package harness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/dns"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// DNSServer is a cluster DNS server the in-process DNS harness runs: a DNS handler answering
// from informers that Start syncs (reference/dns.Server is one; the known-bad DNS servers
// wrap it).
type DNSServer interface {
	mdns.Handler
	// Start starts the server's informers and waits until they have synced.
	Start(ctx context.Context) error
}

// DNSServerFactory makes the DNS server under test for a cluster's client.
type DNSServerFactory func(client kubernetes.Interface, cfg dns.Config) DNSServer

// ReferenceDNS is the reference cluster DNS (reference/dns).
func ReferenceDNS(client kubernetes.Interface, cfg dns.Config) DNSServer {
	return dns.New(client, cfg)
}

// InProcessDNSTTL is the TTL the in-process DNS harness gives its servers, so that the specs
// of changes (which wait a TTL for an old answer to expire) stay fast.
const InProcessDNSTTL = 1

// InProcessDNS runs the DNS specs against the server newServer makes, for every spec on a
// fresh reference API server (store from store) and on a loopback port the specs query
// directly: no pod, so the search-path specs (PodDNS) are skipped with that reason.
func InProcessDNS(name string, store conformance.StoreHarness, newServer DNSServerFactory) conformance.DNSHarness {
	return conformance.DNSHarness{
		Name: name,
		Connect: func(ctx context.Context, c conformance.Cleaner) (*conformance.DNSUnderTest, error) {
			cfg, addr, err := startDNS(ctx, c, store, newServer, "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			return &conformance.DNSUnderTest{Config: cfg, Domain: dns.DefaultDomain, Resolver: DirectResolver(addr)}, nil
		},
	}
}

// startDNS starts a fresh reference API server (store from store) and the DNS server newServer
// makes against it, served on addr (port 0 picks one) until the spec's cleanup; it returns the
// API server's config and the DNS server's address.
func startDNS(ctx context.Context, c conformance.Cleaner, store conformance.StoreHarness, newServer DNSServerFactory, addr string) (*rest.Config, string, error) {
	cfg, _, err := startAPIServer(ctx, c, store, nil)
	if err != nil {
		return nil, "", err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	srv := newServer(client, dns.Config{TTL: InProcessDNSTTL})
	addr, err = serveDNSOn(ctx, c, srv, addr)
	return cfg, addr, err
}

// serveDNSOn starts srv's informers and serves it over UDP and TCP on addr (host:port; port 0
// picks one) until the spec's cleanup; it returns the address.
func serveDNSOn(ctx context.Context, c conformance.Cleaner, srv DNSServer, addr string) (string, error) {
	runCtx, stop := context.WithCancel(context.Background())
	c.Cleanup(stop)
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := startInformers(startCtx, runCtx, srv); err != nil {
		return "", err
	}
	pc, ln, err := dns.ListenUDPAndTCP(addr)
	if err != nil {
		return "", err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	udp := &mdns.Server{PacketConn: pc, Handler: srv, NotifyStartedFunc: wg.Done}
	tcp := &mdns.Server{Listener: ln, Handler: srv, NotifyStartedFunc: wg.Done}
	errs := make(chan error, 2)
	go func() { errs <- udp.ActivateAndServe() }()
	go func() { errs <- tcp.ActivateAndServe() }()
	c.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	started := make(chan struct{})
	go func() { wg.Wait(); close(started) }()
	select {
	case <-started:
	case err := <-errs:
		return "", fmt.Errorf("serving the DNS server: %w", err)
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalAddr().String(), nil
}

// startInformers runs srv.Start with runCtx (the informers live as long as it) and waits at
// most until waitCtx ends for it to return.
func startInformers(waitCtx, runCtx context.Context, srv DNSServer) error {
	done := make(chan error, 1)
	go func() { done <- srv.Start(runCtx) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("starting the DNS server: %w", err)
		}
		return nil
	case <-waitCtx.Done():
		return fmt.Errorf("starting the DNS server: informers not synced: %w", waitCtx.Err())
	}
}

// DirectResolver asks the DNS server at addr (host:port) over UDP (TCP when the answer is
// truncated). It has no search list: a name without a final dot is an error.
func DirectResolver(addr string) conformance.DNSResolver { return directResolver(addr) }

type directResolver string

func (d directResolver) Lookup(ctx context.Context, name, qtype string) (conformance.DNSAnswer, error) {
	if !strings.HasSuffix(name, ".") {
		return conformance.DNSAnswer{}, fmt.Errorf("%q is relative: a direct resolver has no search list", name)
	}
	t, ok := mdns.StringToType[strings.ToUpper(qtype)]
	if !ok {
		return conformance.DNSAnswer{}, fmt.Errorf("unknown record type %q", qtype)
	}
	m := new(mdns.Msg)
	m.SetQuestion(name, t)
	m.RecursionDesired = true
	in, _, err := (&mdns.Client{Timeout: 3 * time.Second}).ExchangeContext(ctx, m, string(d))
	if err == nil && in.Truncated {
		in, _, err = (&mdns.Client{Net: "tcp", Timeout: 3 * time.Second}).ExchangeContext(ctx, m, string(d))
	}
	if err != nil {
		return conformance.DNSAnswer{}, fmt.Errorf("asking %s %s of %s: %w", qtype, name, string(d), err)
	}
	if in == nil {
		return conformance.DNSAnswer{}, errors.New("no answer")
	}
	a := conformance.DNSAnswer{Rcode: mdns.RcodeToString[in.Rcode], Name: name}
	for _, rr := range in.Answer {
		f := strings.Fields(rr.String())
		if len(f) < 4 {
			continue
		}
		a.Records = append(a.Records, conformance.DNSRecord{Type: mdns.TypeToString[rr.Header().Rrtype], TTL: rr.Header().Ttl, Data: strings.Join(f[4:], " ")})
	}
	return a, nil
}

// LiveDNS runs the DNS specs against the cluster DNS of a running cluster reached through a
// kubeconfig file (empty: $KUBECONFIG or ~/.kube/config) whose domain is domain (empty:
// cluster.local). The specs ask from a pod of the test image (which the nodes must have, as
// a clusterkit lab's do) through pods/exec, so the search-path specs run too.
func LiveDNS(kubeconfig, domain string) conformance.DNSHarness {
	if domain == "" {
		domain = dns.DefaultDomain
	}
	return conformance.DNSHarness{
		Name:    "live cluster DNS",
		FromPod: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (*conformance.DNSUnderTest, error) {
			cfg, err := kubeconfigREST(kubeconfig)
			if err != nil {
				return nil, err
			}
			return &conformance.DNSUnderTest{Config: cfg, Domain: domain}, nil
		},
	}
}

// dnsPodNode is the node of the in-process pod DNS harness.
const dnsPodNode = "dns-node"

// InProcessPodDNSUnavailable says why InProcessPodDNS cannot run here, or "": its DNS server
// listens on port 53 (the port a resolv.conf nameserver is asked on), which needs root or
// CAP_NET_BIND_SERVICE.
func InProcessPodDNSUnavailable() string {
	pc, err := net.ListenPacket("udp", "127.0.0.53:0")
	if err != nil {
		return "no loopback address 127.0.0.53: " + err.Error()
	}
	_ = pc.Close()
	addr, err := freeDNSAddress()
	if err != nil {
		return err.Error()
	}
	pc, err = net.ListenPacket("udp", net.JoinHostPort(addr, "53"))
	if err != nil {
		return "cannot listen on port 53 (needs root or CAP_NET_BIND_SERVICE): " + err.Error()
	}
	_ = pc.Close()
	return ""
}

// freeDNSAddress picks a loopback address (127.53.X.Y) for a DNS server on port 53.
func freeDNSAddress() (string, error) {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("127.53.%d.%d", b[0], max(b[1], 1)), nil
}

// InProcessPodDNS is InProcessDNS asked from a pod, as a live cluster is: for every spec a
// fresh reference API server, the DNS server from newServer on port 53 of a loopback address,
// and a node whose kubelet (on the simulated runtime) has that address as its clusterDNS and
// writes the client pod's resolv.conf; the specs run `ckimage resolve` in the pod through
// pods/exec, so the search-path specs run too. It needs port 53 (InProcessPodDNSUnavailable).
func InProcessPodDNS(name string, store conformance.StoreHarness, newServer DNSServerFactory) conformance.DNSHarness {
	return conformance.DNSHarness{
		Name:    name + " (asked from a pod)",
		FromPod: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (*conformance.DNSUnderTest, error) {
			ip, err := freeDNSAddress()
			if err != nil {
				return nil, err
			}
			cfg, _, err := startDNS(ctx, c, store, newServer, net.JoinHostPort(ip, "53"))
			if err != nil {
				return nil, err
			}
			n, err := localnode.Start(ctx, cfg, localnode.Config{Name: dnsPodNode, Kubelet: kubelet.Config{
				ClusterDNS: []string{ip}, ClusterDomain: dns.DefaultDomain,
			}})
			if err != nil {
				return nil, fmt.Errorf("starting the node's kubelet: %w", err)
			}
			c.Cleanup(n.Close)
			return &conformance.DNSUnderTest{Config: cfg, Domain: dns.DefaultDomain, Node: dnsPodNode}, nil
		},
	}
}
