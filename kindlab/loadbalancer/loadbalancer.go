package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Balancer.
type Config struct {
	// Backends are the host:port addresses connections are spread over.
	Backends []string
	// CheckInterval is how often every backend is checked by opening (and closing) a TCP
	// connection (default 1 s); DialTimeout bounds each dial (default 1 s).
	CheckInterval, DialTimeout time.Duration
	// Logf receives a line when a backend goes down or comes back (default: discarded).
	Logf func(format string, args ...any)
}

// Balancer spreads TCP connections over backends.
type Balancer struct {
	cfg  Config
	up   []atomic.Bool
	next atomic.Uint64
}

// New returns a Balancer over cfg.Backends, every backend taken as up until checked.
func New(cfg Config) (*Balancer, error) {
	if len(cfg.Backends) == 0 {
		return nil, errors.New("load balancer: no backends")
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	b := &Balancer{cfg: cfg, up: make([]atomic.Bool, len(cfg.Backends))}
	for i := range b.up {
		b.up[i].Store(true)
	}
	return b, nil
}

// Serve accepts connections on l until ctx ends (then it closes l and waits for the
// connections it spliced to end), checking the backends meanwhile.
func (b *Balancer) Serve(ctx context.Context, l net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.check(ctx)
	}()
	go func() {
		<-ctx.Done()
		_ = l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("load balancer: accepting: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.splice(ctx, c)
		}()
	}
}

// check marks each backend up or down every CheckInterval.
func (b *Balancer) check(ctx context.Context) {
	t := time.NewTicker(b.cfg.CheckInterval)
	defer t.Stop()
	for {
		for i, addr := range b.cfg.Backends {
			c, err := net.DialTimeout("tcp", addr, b.cfg.DialTimeout)
			if err == nil {
				_ = c.Close()
			}
			b.mark(i, err == nil, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Balancer) mark(i int, up bool, why error) {
	if b.up[i].Swap(up) == up {
		return
	}
	if up {
		b.cfg.Logf("backend %s up", b.cfg.Backends[i])
	} else {
		b.cfg.Logf("backend %s down: %v", b.cfg.Backends[i], why)
	}
}

// dial connects to the next backend in turn that is up and accepts the connection, then to
// those marked down (a check may be behind); it fails when none accepts.
func (b *Balancer) dial(ctx context.Context) (net.Conn, error) {
	n := len(b.cfg.Backends)
	start := int(b.next.Add(1) % uint64(n))
	d := net.Dialer{Timeout: b.cfg.DialTimeout}
	var errs []error
	for _, wantUp := range []bool{true, false} {
		for k := range n {
			i := (start + k) % n
			if b.up[i].Load() != wantUp {
				continue
			}
			c, err := d.DialContext(ctx, "tcp", b.cfg.Backends[i])
			if err == nil {
				b.mark(i, true, nil)
				return c, nil
			}
			b.mark(i, false, err)
			errs = append(errs, err)
		}
	}
	return nil, fmt.Errorf("load balancer: no backend accepts a connection: %w", errors.Join(errs...))
}

// splice copies c to a backend and back until both sides are done.
func (b *Balancer) splice(ctx context.Context, c net.Conn) {
	defer c.Close()
	be, err := b.dial(ctx)
	if err != nil {
		b.cfg.Logf("%v", err)
		return
	}
	defer be.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(be, c)
	go pipe(c, be)
	select {
	case <-done:
		<-done
	case <-ctx.Done():
	}
}
