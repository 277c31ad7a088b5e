package behavior

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Server is the HTTP side of serve-hostname and liveness, shared by the
// real binary (listening on :PORT inside the container) and the simulator
// (listening on the simulated pod's loopback address).
type Server struct {
	b        Behavior
	hostname string
	start    time.Time
	now      func() time.Time
	failed   atomic.Bool
	unready  atomic.Bool
	exit     func(code int)
	print    func(line string)
}

// NewServer builds the handler for b. start is when the process started;
// exit is called by /exit?code=N (nil: /exit answers 501).
func NewServer(b Behavior, hostname string, start time.Time, exit func(code int)) *Server {
	return &Server{b: b, hostname: hostname, start: start, now: time.Now, exit: exit}
}

// SetPrint sets where /log?msg=TEXT prints TEXT: the process's stdout (nil: /log answers
// 501). Call it before serving.
func (s *Server) SetPrint(print func(line string)) { s.print = print }

// Healthy reports what /healthz answers now.
func (s *Server) Healthy() bool {
	if s.failed.Load() {
		return false
	}
	return s.b.FailAfter <= 0 || s.now().Sub(s.start) < s.b.FailAfter
}

// Ready reports what /readyz answers now.
func (s *Server) Ready() bool {
	return !s.unready.Load() && s.now().Sub(s.start) >= s.b.ReadyAfter
}

// Fail makes /healthz fail from now on (what POST /fail does).
func (s *Server) Fail() { s.failed.Store(true) }

// ServeHTTP answers:
//
//	GET /, /hostname   the hostname
//	GET /clientip      the address the connection came from (without port)
//	GET /healthz       200 "ok" while healthy, else 500
//	GET /readyz        200 "ok" once ready, else 503
//	POST /fail         /healthz fails from now on
//	POST /unready      /readyz answers 503 from now on
//	POST /ready        /readyz answers as before /unready
//	/exit?code=N       the process exits with code N
//	/log?msg=TEXT      TEXT is printed on the process's stdout
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch r.URL.Path {
	case "/", "/hostname":
		fmt.Fprint(w, s.hostname)
	case "/clientip":
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		fmt.Fprint(w, host)
	case "/healthz":
		if !s.Healthy() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	case "/readyz":
		if !s.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	case "/fail":
		s.Fail()
		fmt.Fprint(w, "failing")
	case "/unready":
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		s.unready.Store(true)
		fmt.Fprint(w, "not ready")
	case "/ready":
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		s.unready.Store(false)
		fmt.Fprint(w, "ready")
	case "/exit":
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil || code < 0 || code > 255 {
			http.Error(w, "code must be 0..255", http.StatusBadRequest)
			return
		}
		if s.exit == nil {
			http.Error(w, "exit not supported", http.StatusNotImplemented)
			return
		}
		fmt.Fprintf(w, "exiting with code %d", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go s.exit(code)
	case "/log":
		if s.print == nil {
			http.Error(w, "log not supported", http.StatusNotImplemented)
			return
		}
		msg := strings.ReplaceAll(r.URL.Query().Get("msg"), "\n", " ")
		s.print(msg)
		fmt.Fprint(w, "logged")
	default:
		http.NotFound(w, r)
	}
}
