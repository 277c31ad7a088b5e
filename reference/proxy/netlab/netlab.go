package netlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultPrefix starts the name of every namespace a lab creates.
const DefaultPrefix = "ckp-"

// DefaultSubnet is the lab bridge's subnet (inside the lab only).
const DefaultSubnet = "10.240.0.0/24"

// Lab is one node namespace with a bridge and the pods attached to it.
type Lab struct {
	Name   string // node namespace name
	Subnet netip.Prefix
	// Gateway is the bridge's address in the node namespace: the node's IP in the lab.
	Gateway netip.Addr
	bridge  string

	mu    sync.Mutex
	next  netip.Addr
	pods  []*Pod
	count int
}

// Pod is a network namespace on the lab bridge.
type Pod struct {
	Name string // namespace name
	IP   netip.Addr
	lab  *Lab
	port string // the pod's veth on the bridge, in the node namespace
}

// Supported reports why labs cannot be built here, or "" when they can.
func Supported() string {
	if os.Geteuid() != 0 {
		return "network labs need root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "network labs need the ip command (iproute2)"
	}
	return ""
}

func run(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// New creates a node namespace named prefix+random+"-node" with a bridge at the first address
// of subnet ("" means DefaultSubnet), forwarding on, and a default route onto the bridge (a
// node's default route, which leads nowhere but the lab).
func New(ctx context.Context, prefix, subnet string) (*Lab, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if subnet == "" {
		subnet = DefaultSubnet
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return nil, err
	}
	p = p.Masked()
	l := &Lab{Name: prefix + randomID() + "-node", Subnet: p, Gateway: p.Addr().Next(), bridge: "ckbr0"}
	l.next = l.Gateway.Next()
	if err := run(ctx, "netns", "add", l.Name); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"-n", l.Name, "link", "set", "lo", "up"},
		{"-n", l.Name, "link", "add", l.bridge, "type", "bridge"},
		{"-n", l.Name, "addr", "add", fmt.Sprintf("%s/%d", l.Gateway, p.Bits()), "dev", l.bridge},
		{"-n", l.Name, "link", "set", l.bridge, "up"},
		{"-n", l.Name, "route", "add", "default", "dev", l.bridge},
	}
	for _, s := range steps {
		if err := run(ctx, s...); err != nil {
			_ = l.Close()
			return nil, err
		}
	}
	if err := l.sysctl("net/ipv4/ip_forward", "1"); err != nil {
		_ = l.Close()
		return nil, err
	}
	_ = l.sysctl("net/bridge/bridge-nf-call-iptables", "1")
	return l, nil
}

// NSPath is the node namespace's path, for nftables.WithNetNSFd and nsenter.
func (l *Lab) NSPath() string { return "/run/netns/" + l.Name }

func (l *Lab) sysctl(key, value string) error {
	return InNS(l.NSPath(), func() error {
		// /proc/sys/net reflects the namespace of the thread that opens it.
		return os.WriteFile("/proc/sys/"+key, []byte(value), 0o644)
	})
}

// AddPod creates a pod namespace with eth0 on the bridge, the next free address and a default
// route via the gateway. The pod's bridge port is in hairpin mode, as the bridge CNI plugin's
// hairpinMode sets it on real nodes: the node has bridge-nf-call-iptables on, so a connection a
// service proxy translates back to the pod that opened it is bridged out of the port it came
// in on, which the bridge drops otherwise (see SetHairpin).
func (l *Lab) AddPod(ctx context.Context) (*Pod, error) {
	l.mu.Lock()
	ip := l.next
	l.next = l.next.Next()
	l.count++
	n := l.count
	l.mu.Unlock()
	if !l.Subnet.Contains(ip) {
		return nil, errors.New("netlab: subnet exhausted")
	}
	host := fmt.Sprintf("veth%d", n)
	pod := &Pod{Name: fmt.Sprintf("%s-p%d", strings.TrimSuffix(l.Name, "-node"), n), IP: ip, lab: l, port: host}
	if err := run(ctx, "netns", "add", pod.Name); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.pods = append(l.pods, pod)
	l.mu.Unlock()
	steps := [][]string{
		{"-n", pod.Name, "link", "set", "lo", "up"},
		{"-n", l.Name, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.Name},
		{"-n", l.Name, "link", "set", host, "master", l.bridge},
		{"-n", l.Name, "link", "set", host, "type", "bridge_slave", "hairpin", "on"},
		{"-n", l.Name, "link", "set", host, "up"},
		{"-n", pod.Name, "addr", "add", fmt.Sprintf("%s/%d", ip, l.Subnet.Bits()), "dev", "eth0"},
		{"-n", pod.Name, "link", "set", "eth0", "up"},
		{"-n", pod.Name, "route", "add", "default", "via", l.Gateway.String()},
	}
	for _, s := range steps {
		if err := run(ctx, s...); err != nil {
			return nil, err
		}
	}
	return pod, nil
}

// SetHairpin turns hairpin mode of the pod's bridge port on or off (AddPod turns it on). With it
// off, a connection from the pod that a service proxy translates back to the same pod is dropped
// by the bridge, whatever the proxy does.
func (p *Pod) SetHairpin(ctx context.Context, on bool) error {
	mode := "off"
	if on {
		mode = "on"
	}
	return run(ctx, "-n", p.lab.Name, "link", "set", p.port, "type", "bridge_slave", "hairpin", mode)
}

// RemovePod deletes a pod's namespace (its veth goes with it) and forgets the pod, so Close
// does not try again. Removing a pod whose namespace is already gone succeeds.
func (l *Lab) RemovePod(ctx context.Context, p *Pod) error {
	if _, err := os.Stat(p.NSPath()); err == nil {
		if err := run(ctx, "netns", "del", p.Name); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A new slice: Close may be ranging over the old one.
	kept := make([]*Pod, 0, len(l.pods))
	for _, q := range l.pods {
		if q != p {
			kept = append(kept, q)
		}
	}
	l.pods = kept
	return nil
}

// Close deletes every namespace of the lab.
func (l *Lab) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l.mu.Lock()
	pods := l.pods
	l.pods = nil
	l.mu.Unlock()
	var errs []error
	for _, p := range pods {
		if _, err := os.Stat("/run/netns/" + p.Name); err == nil {
			errs = append(errs, run(ctx, "netns", "del", p.Name))
		}
	}
	if _, err := os.Stat(l.NSPath()); err == nil {
		errs = append(errs, run(ctx, "netns", "del", l.Name))
	}
	return errors.Join(errs...)
}

// NSPath is the pod namespace's path.
func (p *Pod) NSPath() string { return "/run/netns/" + p.Name }

// InNS runs f on an OS thread switched into the namespace at path. Sockets f creates stay in
// that namespace after f returns.
func InNS(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is never unlocked: it exits with the goroutine, so a thread left in the
		// wrong namespace is never reused.
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- err
			return
		}
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Listen opens a TCP or UDP listener in the pod.
func (p *Pod) Listen(network string, port int) (net.Listener, error) {
	var ln net.Listener
	err := InNS(p.NSPath(), func() error {
		var err error
		ln, err = net.Listen(network, fmt.Sprintf("%s:%d", p.IP, port))
		return err
	})
	return ln, err
}

// ServeHostname runs the test image's serve-hostname behaviour in the pod: GET / answers
// hostname, GET /readyz answers ok. It stops when ctx ends or stop is called.
func (p *Pod) ServeHostname(ctx context.Context, port int, hostname string) (stop func(), err error) {
	ln, err := p.Listen("tcp", port)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(hostname)) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stopped := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(stopped); _ = srv.Close() }) }
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-stopped:
		}
	}()
	return stop, nil
}

// Dial opens a connection from the pod.
func (p *Pod) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return DialInNS(ctx, p.NSPath(), 3*time.Second, network, addr)
}

// DialInNS opens a connection from inside the network namespace at nsPath, giving up after
// timeout (0: only ctx bounds it). The connection stays in that namespace.
func DialInNS(ctx context.Context, nsPath string, timeout time.Duration, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := InNS(nsPath, func() error {
		var err error
		c, err = (&net.Dialer{Timeout: timeout}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// HTTPClient returns a client whose connections start in the pod (no keep-alive: every request
// is a new connection, so every request is a new load-balancing decision).
func (p *Pod) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       p.Dial,
			DisableKeepAlives: true,
		},
	}
}
