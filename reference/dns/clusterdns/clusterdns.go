package clusterdns

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/dns"
)

// Main runs the server with os.Args and exits 1 when it fails.
func Main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "clusterdns:", err)
		os.Exit(1)
	}
}

// counting counts the queries a handler answers.
type counting struct {
	h mdns.Handler
	n *atomic.Int64
}

func (c counting) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) { c.n.Add(1); c.h.ServeDNS(w, r) }

func run(args []string) error {
	flag := flag.NewFlagSet("clusterdns", flag.ExitOnError)
	domain := flag.String("domain", dns.DefaultDomain, "cluster domain")
	listen := flag.String("listen", ":53", "DNS address (UDP and TCP)")
	resolvConf := flag.String("resolv-conf", "/etc/resolv.conf", "resolv.conf whose nameservers other names are forwarded to")
	health := flag.String("health", ":8080", "address of /health")
	readyAddr := flag.String("ready", ":8181", "address of /ready")
	metrics := flag.String("metrics", ":9153", "address of /metrics")
	if err := flag.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, time.Now().UTC().Format(time.RFC3339)+" "+format+"\n", args...)
	}

	var upstreams []string
	if f, err := os.Open(*resolvConf); err == nil {
		upstreams, err = dns.Upstreams(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", *resolvConf, err)
		}
	}
	logf("domain %s; forwarding other names to %v", *domain, upstreams)

	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	srv := dns.New(client, dns.Config{Domain: *domain, Upstreams: upstreams, Logf: logf})

	var ready atomic.Bool
	var queries atomic.Int64
	serveHTTP := func(addr, path string, h http.HandlerFunc) {
		mux := http.NewServeMux()
		mux.HandleFunc(path, h)
		hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := hs.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				logf("%s: %v", path, err)
			}
		}()
		go func() { <-ctx.Done(); _ = hs.Close() }()
	}
	serveHTTP(*health, "/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	serveHTTP(*readyAddr, "/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "informers not synced", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "OK")
	})
	serveHTTP(*metrics, "/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE clusterdns_queries_total counter\nclusterdns_queries_total %d\n", queries.Load())
	})

	if err := srv.Start(ctx); err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", *listen)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		pc.Close()
		return err
	}
	h := counting{h: srv, n: &queries}
	udp := &mdns.Server{PacketConn: pc, Handler: h}
	tcp := &mdns.Server{Listener: ln, Handler: h}
	errs := make(chan error, 2)
	go func() { errs <- udp.ActivateAndServe() }()
	go func() { errs <- tcp.ActivateAndServe() }()
	ready.Store(true)
	logf("serving DNS on %s (udp, tcp)", *listen)
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	_ = udp.Shutdown()
	_ = tcp.Shutdown()
	return err
}
