package simruntime

import (
	"context"
	"encoding/json"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// execSession is one prepared Exec, redeemed once at its URL.
type execSession struct {
	containerID string
	cmd         []string
	stdin       bool
	stdout      bool
	stderr      bool
	// attach: the session attaches to the container's process instead of running cmd.
	attach  bool
	expires time.Time
}

// streamServer answers the CRI streaming URLs of Exec on a loopback port,
// with the remote-command protocols (SPDY v4…v2, WebSocket v4/v5).
type streamServer struct {
	r *Runtime

	mu       sync.Mutex
	ln       net.Listener
	srv      *http.Server
	sessions map[string]*execSession
	forwards forwardSessions
}

func newStreamServer(r *Runtime) *streamServer {
	return &streamServer{r: r, sessions: map[string]*execSession{}}
}

func (s *streamServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for CRI streaming: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveExec), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

func (s *streamServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

func (s *streamServer) prepare(sess *execSession) (string, error) {
	if err := s.start(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for tok, old := range s.sessions {
		if now.After(old.expires) {
			delete(s.sessions, tok)
		}
	}
	tok := newID()[:32]
	sess.expires = now.Add(time.Minute)
	s.sessions[tok] = sess
	return "http://" + s.ln.Addr().String() + "/" + kind(sess) + "/" + tok, nil
}

func (s *streamServer) take(tok string) (*execSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[tok]
	delete(s.sessions, tok)
	return sess, ok && time.Now().Before(sess.expires)
}

// Exec implements RuntimeService: it returns a one-time URL on the
// runtime's loopback streaming server where the command runs.
func (r *Runtime) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if len(req.Cmd) == 0 {
		return nil, status.Error(codes.InvalidArgument, "cmd must not be empty")
	}
	if !req.Stdin && !req.Stdout && !req.Stderr {
		return nil, status.Error(codes.InvalidArgument, "one of stdin, stdout, or stderr must be set")
	}
	if _, err := r.execTarget(req.ContainerId); err != nil {
		return nil, err
	}
	url, err := r.stream.prepare(&execSession{containerID: req.ContainerId, cmd: req.Cmd, stdin: req.Stdin, stdout: req.Stdout, stderr: req.Stderr && !req.Tty})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &runtimeapi.ExecResponse{Url: url}, nil
}

func (s *streamServer) serveExec(w http.ResponseWriter, req *http.Request) {
	if s.servePortForward(w, req) {
		return
	}
	tok, ok := strings.CutPrefix(req.URL.Path, "/exec/")
	if !ok {
		tok, ok = strings.CutPrefix(req.URL.Path, "/attach/")
	}
	if !ok {
		http.NotFound(w, req)
		return
	}
	sess, ok := s.take(tok)
	if !ok {
		http.Error(w, "unknown or expired exec session", http.StatusNotFound)
		return
	}
	if wsstream.IsWebSocketRequest(req) {
		s.serveWebSocket(w, req, sess)
		return
	}
	s.serveSPDY(w, req, sess)
}

// streams are the ends of one exec: stdin (may be nil), stdout, stderr
// (may be nil), and where to report the outcome.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	report         func(code int, err error)
}

func (s *streamServer) run(sess *execSession, st streams) {
	if sess.attach {
		s.runAttach(sess, st)
		return
	}
	res, err := s.r.runExec(context.Background(), sess.containerID, sess.cmd)
	if st.stdin != nil {
		go func() { _, _ = io.Copy(io.Discard, st.stdin) }()
	}
	if err == nil {
		if st.stdout != nil {
			_, _ = io.WriteString(st.stdout, res.Stdout)
		}
		if st.stderr != nil {
			_, _ = io.WriteString(st.stderr, res.Stderr)
		}
	}
	st.report(res.ExitCode, err)
}

// statusFor renders the outcome the v4/v5 protocols put on the error stream.
func statusFor(code int, err error) []byte {
	var s metav1.Status
	switch {
	case err != nil:
		s = metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
	case code == 0:
		s = metav1.Status{Status: metav1.StatusSuccess}
	default:
		s = metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommandconsts.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommandconsts.ExitCodeCauseType, Message: strconv.Itoa(code)}}},
		}
	}
	s.Kind, s.APIVersion = "Status", "v1"
	b, _ := json.Marshal(s)
	return b
}

func (s *streamServer) serveSPDY(w http.ResponseWriter, req *http.Request, sess *execSession) {
	protocol, err := httpstream.Handshake(req, w, []string{
		remotecommandconsts.StreamProtocolV4Name, remotecommandconsts.StreamProtocolV3Name, remotecommandconsts.StreamProtocolV2Name,
	})
	if err != nil {
		return // Handshake has answered
	}
	streamCh := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, req, func(st httpstream.Stream, replySent <-chan struct{}) error {
		streamCh <- st
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	conn.SetIdleTimeout(5 * time.Minute)

	want := 1 // the error stream
	for _, b := range []bool{sess.stdin, sess.stdout, sess.stderr} {
		if b {
			want++
		}
	}
	var st streams
	var errStream httpstream.Stream
	deadline := time.After(remotecommandconsts.DefaultStreamCreationTimeout)
	for got := 0; got < want; {
		select {
		case x := <-streamCh:
			switch x.Headers().Get("streamType") {
			case "error":
				errStream = x
				got++
			case "stdin":
				st.stdin = x
				got++
			case "stdout":
				st.stdout = x
				got++
			case "stderr":
				st.stderr = x
				got++
			case "resize":
			}
		case <-deadline:
			return
		case <-conn.CloseChan():
			return
		}
	}
	st.report = func(code int, err error) {
		switch {
		case protocol == remotecommandconsts.StreamProtocolV4Name:
			_, _ = errStream.Write(statusFor(code, err))
		case err != nil:
			_, _ = io.WriteString(errStream, err.Error())
		case code != 0:
			_, _ = fmt.Fprintf(errStream, "command terminated with non-zero exit code: exit status %d", code)
		}
		_ = errStream.Close()
	}
	s.run(sess, st)
	for _, x := range []any{st.stdout, st.stderr} {
		if c, ok := x.(io.Closer); ok && c != nil {
			_ = c.Close()
		}
	}
}

func (s *streamServer) serveWebSocket(w http.ResponseWriter, req *http.Request, sess *execSession) {
	channels := []wsstream.ChannelType{wsstream.ReadChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.IgnoreChannel}
	cfg := wsstream.ChannelProtocolConfig{Binary: true, Channels: channels}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommandconsts.StreamProtocolV5Name: cfg,
		remotecommandconsts.StreamProtocolV4Name: cfg,
	})
	conn.SetIdleTimeout(5 * time.Minute)
	_, rw, err := conn.Open(w, req)
	if err != nil {
		return
	}
	defer conn.Close()
	st := streams{}
	if sess.stdin {
		st.stdin = rw[remotecommandconsts.StreamStdIn]
	}
	if sess.stdout {
		st.stdout = rw[remotecommandconsts.StreamStdOut]
	}
	if sess.stderr {
		st.stderr = rw[remotecommandconsts.StreamStdErr]
	}
	st.report = func(code int, err error) {
		_, _ = rw[remotecommandconsts.StreamErr].Write(statusFor(code, err))
	}
	s.run(sess, st)
}

// kind is the path prefix of a session's URL.
func kind(sess *execSession) string {
	if sess.attach {
		return "attach"
	}
	return "exec"
}
