package simruntime

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
)

// Port-forward streams idle out after this long without data, and a forwarded connection's
// stream pair must be complete within streamCreationTimeout (the kubelet's defaults).
const (
	portForwardIdleTimeout     = 4 * time.Hour
	portForwardStreamCreation  = 30 * time.Second
	portForwardPathPrefix      = "/portforward/"
	portForwardSessionLifetime = time.Minute
)

// PortForward implements RuntimeService as containerd does: it returns a one-time URL of the
// runtime's streaming server where the SPDY (or WebSocket) port-forward protocol carries
// connections to the sandbox's ports; each is dialled at the sandbox's address (from inside its
// network namespace when it has one).
func (r *Runtime) PortForward(_ context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	r.mu.Lock()
	s, ok := r.sandboxes[req.PodSandboxId]
	ready := ok && s.state == runtimeapi.PodSandboxState_SANDBOX_READY
	r.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "sandbox %q not found", req.PodSandboxId)
	}
	if !ready {
		return nil, status.Errorf(codes.FailedPrecondition, "sandbox %q is not running", req.PodSandboxId)
	}
	for _, p := range req.Port {
		if p < 1 || p > 65535 {
			return nil, status.Errorf(codes.InvalidArgument, "invalid port %d", p)
		}
	}
	if err := r.stream.start(); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	tok := r.stream.forwards.add(req)
	return &runtimeapi.PortForwardResponse{Url: "http://" + r.stream.ln.Addr().String() + portForwardPathPrefix + tok}, nil
}

// forwardSessions holds prepared PortForward requests until their URL is used.
type forwardSessions struct {
	mu       sync.Mutex
	sessions map[string]forwardSession
}

type forwardSession struct {
	req     *runtimeapi.PortForwardRequest
	expires time.Time
}

func (f *forwardSessions) add(req *runtimeapi.PortForwardRequest) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.sessions == nil {
		f.sessions = map[string]forwardSession{}
	}
	for tok, s := range f.sessions {
		if now.After(s.expires) {
			delete(f.sessions, tok)
		}
	}
	tok := newID()[:32]
	f.sessions[tok] = forwardSession{req: req, expires: now.Add(portForwardSessionLifetime)}
	return tok
}

func (f *forwardSessions) take(tok string) (*runtimeapi.PortForwardRequest, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[tok]
	delete(f.sessions, tok)
	return s.req, ok && time.Now().Before(s.expires)
}

// servePortForward answers a PortForward URL with k8s.io/cri-streaming's port-forward server
// (the one containerd's CRI plugin uses).
func (s *streamServer) servePortForward(w http.ResponseWriter, req *http.Request) bool {
	tok, ok := strings.CutPrefix(req.URL.Path, portForwardPathPrefix)
	if !ok {
		return false
	}
	pf, ok := s.forwards.take(tok)
	if !ok {
		http.Error(w, "unknown or expired port-forward session", http.StatusNotFound)
		return true
	}
	opts, err := portforward.BuildV4Options(pf.Port)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return true
	}
	portforward.ServePortForward(w, req, sandboxForwarder{r: s.r}, pf.PodSandboxId, "", opts,
		portForwardIdleTimeout, portForwardStreamCreation, portforward.SupportedProtocols)
	return true
}

// sandboxForwarder connects a forwarded stream to a port of a sandbox.
type sandboxForwarder struct{ r *Runtime }

func (f sandboxForwarder) PortForward(ctx context.Context, sandboxID, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	f.r.mu.Lock()
	s, ok := f.r.sandboxes[sandboxID]
	var (
		netw SandboxNetwork
		addr string
	)
	if ok {
		netw = s.net
		host := "127.0.0.1"
		if s.ip.IsValid() {
			host = s.ip.String()
		}
		addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	f.r.mu.Unlock()
	if !ok {
		return fmt.Errorf("sandbox %q not found", sandboxID)
	}
	var (
		conn net.Conn
		err  error
	)
	if netw != nil {
		conn, err = netw.Dial(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("failed to connect to port %d of sandbox %s: %w", port, sandboxID, err)
	}
	defer conn.Close()
	// The client's bytes go to the pod until the client half-closes; the forward ends when the
	// pod's side ends (closing conn then ends the copy from the client).
	go func() { _, _ = io.Copy(conn, stream); closeWrite(conn) }()
	_, err = io.Copy(stream, conn)
	return err
}

// closeWrite half-closes a TCP connection after the client's side ended.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
