package behavior

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		argv    []string
		want    Behavior
		wantErr bool
	}{
		{name: "bare is pause", argv: []string{"/ckimage"}, want: Behavior{Kind: Pause}},
		{name: "serve default port", argv: []string{"ckimage", "serve-hostname"}, want: Behavior{Kind: Serve, Port: 8080, Path: "/healthz"}},
		{name: "serve flags", argv: []string{"/ckimage", "serve-hostname", "--port", "9000", "--ready-after", "2s", "--term-delay", "1"},
			want: Behavior{Kind: Serve, Port: 9000, Path: "/healthz", ReadyAfter: 2 * time.Second, TermDelay: time.Second}},
		{name: "liveness is serve with fail-after", argv: []string{"ckimage", "liveness", "--fail-after", "10s"},
			want: Behavior{Kind: Serve, Port: 8080, Path: "/healthz", FailAfter: 10 * time.Second}},
		{name: "liveness needs fail-after", argv: []string{"ckimage", "liveness"}, wantErr: true},
		{name: "serve with a gRPC health port", argv: []string{"ckimage", "serve-hostname", "--grpc-port", "9090"},
			want: Behavior{Kind: Serve, Port: 8080, GRPCPort: 9090, Path: "/healthz"}},
		{name: "gRPC port must differ from the HTTP port", argv: []string{"ckimage", "serve-hostname", "--grpc-port", "8080"}, wantErr: true},
		{name: "exit", argv: []string{"ckimage", "exit", "--code", "3", "--after", "2s"}, want: Behavior{Kind: Exit, Port: 8080, Path: "/healthz", Code: 3, After: 2 * time.Second}},
		{name: "exit code out of range", argv: []string{"ckimage", "exit", "--code", "300"}, wantErr: true},
		{name: "sleep seconds", argv: []string{"ckimage", "sleep", "3600"}, want: Behavior{Kind: Sleep, Port: 8080, Path: "/healthz", Duration: time.Hour}},
		{name: "sleep needs duration", argv: []string{"ckimage", "sleep"}, wantErr: true},
		{name: "logs", argv: []string{"ckimage", "logs", "--lines", "3"}, want: Behavior{Kind: Logs, Port: 8080, Path: "/healthz", Lines: 3}},
		{name: "echo keeps words", argv: []string{"ckimage", "echo", "--x", "y"}, want: Behavior{Kind: Echo, Port: 8080, Path: "/healthz", Args: []string{"--x", "y"}}},
		{name: "fetch default timeout", argv: []string{"ckimage", "fetch", "http://10.96.0.10/hostname"},
			want: Behavior{Kind: Fetch, Port: 8080, Path: "/healthz", URL: "http://10.96.0.10/hostname", Timeout: DefaultFetchTimeout, Count: 1}},
		{name: "fetch timeout flag after the URL", argv: []string{"ckimage", "fetch", "http://10.90.0.1:30080/", "--timeout", "2s"},
			want: Behavior{Kind: Fetch, Port: 8080, Path: "/healthz", URL: "http://10.90.0.1:30080/", Timeout: 2 * time.Second, Count: 1}},
		{name: "fetch count", argv: []string{"ckimage", "fetch", "--count", "40", "http://10.96.0.10/"},
			want: Behavior{Kind: Fetch, Port: 8080, Path: "/healthz", URL: "http://10.96.0.10/", Timeout: DefaultFetchTimeout, Count: 40}},
		{name: "fetch count out of range", argv: []string{"ckimage", "fetch", "--count", "0", "http://10.96.0.10/"}, wantErr: true},
		{name: "post a path", argv: []string{"ckimage", "post", "/unready"}, want: Behavior{Kind: Post, Port: 8080, Path: "/unready"}},
		{name: "post needs a path", argv: []string{"ckimage", "post"}, wantErr: true},
		{name: "fetch needs a URL", argv: []string{"ckimage", "fetch"}, wantErr: true},
		{name: "fetch only http", argv: []string{"ckimage", "fetch", "file:///etc/passwd"}, wantErr: true},
		{name: "unknown command", argv: []string{"ckimage", "dance"}, wantErr: true},
		{name: "unknown flag", argv: []string{"ckimage", "exit", "--nope"}, wantErr: true},
		{name: "not ckimage", argv: []string{"sh"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.argv)
			if tc.wantErr {
				if err == nil || !IsUsage(err) {
					t.Fatalf("Parse(%q) = %+v, %v; want usage error", tc.argv, got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tc.argv, got, err, tc.want)
			}
		})
	}
}

func TestMain_Generic(t *testing.T) {
	cases := []struct {
		name     string
		argv     []string
		kind     Kind
		code     int
		after    time.Duration
		output   []string
		noOutput bool
	}{
		{name: "no command runs forever", argv: nil, kind: Pause, noOutput: true},
		{name: "nginx runs forever", argv: []string{"nginx", "-g", "daemon off;"}, kind: Pause, noOutput: true},
		{name: "sleep", argv: []string{"sleep", "2"}, kind: Exit, after: 2 * time.Second, output: []string{}},
		{name: "sleep infinity", argv: []string{"sleep", "infinity"}, kind: Pause, noOutput: true},
		{name: "false", argv: []string{"/bin/false"}, kind: Exit, code: 1, output: []string{}},
		{name: "shell script", argv: []string{"sh", "-c", "echo hi; sleep 1; exit 3"}, kind: Exit, code: 3, after: time.Second, output: []string{"hi"}},
		{name: "shell and-chain stops", argv: []string{"sh", "-c", "false && echo no"}, kind: Exit, code: 1, output: []string{}},
		{name: "shell loop runs forever", argv: []string{"sh", "-c", "while true; do sleep 1; done"}, kind: Pause, noOutput: true},
		{name: "bad ckimage exits 2", argv: []string{"/ckimage", "dance"}, kind: Exit, code: 2},
		{name: "ckimage exit", argv: []string{"/ckimage", "exit", "--code", "4"}, kind: Exit, code: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := Main(tc.argv)
			if b.Kind != tc.kind || b.Code != tc.code || b.After != tc.after {
				t.Fatalf("Main(%q) = %+v; want kind %s code %d after %s", tc.argv, b, tc.kind, tc.code, tc.after)
			}
			if tc.output != nil && !reflect.DeepEqual(b.Output, tc.output) {
				t.Fatalf("output %q; want %q", b.Output, tc.output)
			}
			if tc.noOutput && len(b.Output) != 0 {
				t.Fatalf("output %q; want none", b.Output)
			}
		})
	}
}

func TestServer(t *testing.T) {
	b, err := Parse([]string{"ckimage", "liveness", "--fail-after", "1h", "--ready-after", "1h"})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	s := NewServer(b, "pod-a", time.Now(), func(code int) { exited <- code })
	now := time.Now()
	s.now = func() time.Time { return now }
	get := func(method, path string) (int, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	if code, body := get("GET", "/"); code != 200 || body != "pod-a" {
		t.Fatalf("/ = %d %q", code, body)
	}
	if code, _ := get("GET", "/healthz"); code != 200 {
		t.Fatalf("/healthz before fail-after = %d", code)
	}
	if code, _ := get("GET", "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before ready-after = %d", code)
	}
	now = now.Add(2 * time.Hour)
	if code, _ := get("GET", "/healthz"); code != 500 {
		t.Fatalf("/healthz after fail-after = %d", code)
	}
	if code, _ := get("GET", "/readyz"); code != 200 {
		t.Fatalf("/readyz after ready-after = %d", code)
	}
	if code, _ := get("GET", "/exit?code=7"); code != 200 {
		t.Fatalf("/exit = %d", code)
	}
	select {
	case c := <-exited:
		if c != 7 {
			t.Fatalf("exit code %d", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("exit not called")
	}

	s2 := NewServer(Behavior{Kind: Serve, Port: 8080}, "p", time.Now(), nil)
	if !s2.Healthy() {
		t.Fatal("fresh server unhealthy")
	}
	s2.Fail()
	if s2.Healthy() {
		t.Fatal("Fail did not fail /healthz")
	}
}

func TestExec(t *testing.T) {
	srv := httptest.NewServer(NewServer(Behavior{Kind: Serve, Port: 8080}, "p", time.Now(), nil))
	defer srv.Close()
	host, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	ctx := context.Background()
	cases := []struct {
		name     string
		argv     []string
		test     bool
		code     int
		stdout   string
		notFound bool
	}{
		{name: "true", argv: []string{"ckimage", "true"}, test: true},
		{name: "false", argv: []string{"/ckimage", "false"}, test: true, code: 1},
		{name: "hostname", argv: []string{"ckimage", "hostname"}, test: true, stdout: "pod-x\n"},
		{name: "echo", argv: []string{"ckimage", "echo", "a", "b"}, test: true, stdout: "a b\n"},
		{name: "exit code", argv: []string{"ckimage", "exit", "--code", "5"}, test: true, code: 5},
		{name: "healthz ok", argv: []string{"ckimage", "healthz", "--port", port}, test: true, stdout: "200 OK\n"},
		{name: "healthz missing path", argv: []string{"ckimage", "healthz", "--port", port, "--path", "/nope"}, test: true, code: 1},
		{name: "fetch hostname", argv: []string{"ckimage", "fetch", srv.URL + "/hostname"}, test: true, stdout: fetchWant(t, srv.URL+"/hostname")},
		{name: "fetch 404", argv: []string{"ckimage", "fetch", srv.URL + "/nope"}, test: true, code: 1},
		{name: "fetch refused", argv: []string{"ckimage", "fetch", "http://127.0.0.1:1/", "--timeout", "2s"}, test: true, code: 1},
		{name: "fetch usage", argv: []string{"ckimage", "fetch", "ftp://x/"}, test: true, code: 2},
		{name: "usage", argv: []string{"ckimage", "dance"}, test: true, code: 2},
		{name: "no shell in test image", argv: []string{"sh", "-c", "true"}, test: true, notFound: true},
		{name: "generic image shell", argv: []string{"sh", "-c", "echo hi; exit 3"}, code: 3, stdout: "hi\n"},
		{name: "generic image anything", argv: []string{"ls", "/tmp/healthy"}},
		{name: "generic image cat missing file", argv: []string{"cat", "/tmp/healthy"}, code: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Exec(ctx, tc.argv, ExecEnv{Hostname: "pod-x", HTTPHost: host, TestImage: tc.test})
			if tc.notFound {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v; want ErrNotFound", err)
				}
				return
			}
			if err != nil || res.ExitCode != tc.code || (tc.stdout != "" && res.Stdout != tc.stdout) {
				t.Fatalf("Exec(%q) = %+v, %v; want code %d stdout %q", tc.argv, res, err, tc.code, tc.stdout)
			}
		})
	}
}

// fetchWant is what the server answers at url, read directly.
func fetchWant(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || len(b) == 0 {
		t.Fatalf("reading %s: %q %v", url, b, err)
	}
	return string(b)
}

func TestUnreadyAndReadyToggleReadyz(t *testing.T) {
	s := NewServer(Behavior{Kind: Serve, Port: DefaultPort}, "h", time.Now(), nil)
	status := func(method, path string) int {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code
	}
	steps := []struct {
		name         string
		method, path string
		want         int
	}{
		{"ready at start", http.MethodGet, "/readyz", http.StatusOK},
		{"unready only by POST", http.MethodGet, "/unready", http.StatusMethodNotAllowed},
		{"POST /unready", http.MethodPost, "/unready", http.StatusOK},
		{"not ready after /unready", http.MethodGet, "/readyz", http.StatusServiceUnavailable},
		{"still serving the hostname", http.MethodGet, "/", http.StatusOK},
		{"still telling the client address", http.MethodGet, "/clientip", http.StatusOK},
		{"POST /ready", http.MethodPost, "/ready", http.StatusOK},
		{"ready again", http.MethodGet, "/readyz", http.StatusOK},
	}
	for _, st := range steps {
		if got := status(st.method, st.path); got != st.want {
			t.Fatalf("%s: %s %s = %d, want %d", st.name, st.method, st.path, got, st.want)
		}
	}
}

func TestFetchCountPrintsALinePerRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "backend-1\n") }))
	defer srv.Close()
	res, err := Exec(context.Background(), []string{"ckimage", "fetch", "--count", "3", srv.URL + "/"}, ExecEnv{TestImage: true})
	if err != nil || res.ExitCode != 0 || res.Stdout != "backend-1\nbackend-1\nbackend-1\n" {
		t.Fatalf("fetch --count 3 = %+v, %v; want three lines of backend-1, exit 0", res, err)
	}
	srv.Close()
	res, err = Exec(context.Background(), []string{"ckimage", "fetch", "--count", "2", "--timeout", "1s", srv.URL + "/"}, ExecEnv{TestImage: true})
	lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
	if err != nil || res.ExitCode != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], "connection refused") {
		t.Fatalf("fetch --count 2 to a closed server = %+v, %v; want two error lines naming the refusal, exit 1", res, err)
	}
}

func TestPostReachesTheContainersOwnPort(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Method + " " + r.URL.Path }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host, port, _ := net.SplitHostPort(u.Host)
	res, err := Exec(context.Background(), []string{"ckimage", "post", "--port", port, "/unready"}, ExecEnv{TestImage: true, HTTPHost: host})
	if err != nil || res.ExitCode != 0 || got != "POST /unready" {
		t.Fatalf("post /unready = %+v, %v, server saw %q; want exit 0 and POST /unready", res, err, got)
	}
}

func TestExecDialsThroughExecEnvDial(t *testing.T) {
	srv := httptest.NewServer(NewServer(Behavior{Kind: Serve, Port: DefaultPort}, "pod-x", time.Now(), nil))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "http://")
	// The names below resolve nowhere: only a dialer that sends them to the
	// server lets the commands succeed.
	var dials []string
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		dials = append(dials, address)
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
	env := ExecEnv{TestImage: true, HTTPHost: "pod.invalid", Dial: dial}
	cases := []struct {
		name      string
		argv      []string
		stdout    string
		wantDials []string
	}{
		{name: "fetch", argv: []string{"ckimage", "fetch", "http://backend.invalid:9000/"}, stdout: "pod-x", wantDials: []string{"backend.invalid:9000"}},
		{name: "fetch count", argv: []string{"ckimage", "fetch", "--count", "3", "http://backend.invalid:9000/"}, stdout: "pod-x\npod-x\npod-x\n",
			wantDials: []string{"backend.invalid:9000", "backend.invalid:9000", "backend.invalid:9000"}},
		{name: "healthz", argv: []string{"ckimage", "healthz", "--port", "8080"}, stdout: "200 OK\n", wantDials: []string{"pod.invalid:8080"}},
		{name: "post", argv: []string{"ckimage", "post", "--port", "8080", "/unready"}, wantDials: []string{"pod.invalid:8080"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dials = nil
			res, err := Exec(context.Background(), tc.argv, env)
			if err != nil || res.ExitCode != 0 || (tc.stdout != "" && res.Stdout != tc.stdout) {
				t.Fatalf("Exec(%q) = %+v, %v; want exit 0 stdout %q", tc.argv, res, err, tc.stdout)
			}
			if !reflect.DeepEqual(dials, tc.wantDials) {
				t.Fatalf("Exec(%q) dialled %q; want %q", tc.argv, dials, tc.wantDials)
			}
		})
	}
	t.Run("dial failure is the command's failure", func(t *testing.T) {
		refuse := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("no route in the pod") }
		res, err := Exec(context.Background(), []string{"ckimage", "fetch", srv.URL + "/"}, ExecEnv{TestImage: true, Dial: refuse})
		if err != nil || res.ExitCode != 1 || !strings.Contains(res.Stderr, "no route in the pod") {
			t.Fatalf("fetch with a refusing dialer = %+v, %v; want exit 1 naming the dial error", res, err)
		}
	})
}

func TestClientIPAnswersTheConnectionsSource(t *testing.T) {
	s := NewServer(Behavior{Kind: Serve, Port: DefaultPort}, "h", time.Now(), nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/clientip", nil)
	req.RemoteAddr = "10.241.0.7:41234"
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "10.241.0.7" {
		t.Fatalf("GET /clientip from 10.241.0.7:41234 = %d %q, want 200 10.241.0.7", rec.Code, rec.Body.String())
	}
}

func TestCatEnvAndBearer(t *testing.T) {
	files := map[string][]byte{"/etc/s/pass": []byte("pw"), "/t": []byte(" tok\n")}
	env := ExecEnv{TestImage: true, Environ: []string{"A=1", "B=2"}, ReadFile: func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, fs.ErrNotExist
	}}
	ctx := context.Background()
	if r, err := Exec(ctx, []string{"ckimage", "cat", "/etc/s/pass"}, env); err != nil || r.Stdout != "pw" || r.ExitCode != 0 {
		t.Errorf("cat: %+v %v", r, err)
	}
	if r, _ := Exec(ctx, []string{"ckimage", "cat", "/nope"}, env); r.ExitCode != 1 || !strings.Contains(r.Stderr, "/nope") {
		t.Errorf("cat of a missing file: %+v", r)
	}
	if r, _ := Exec(ctx, []string{"ckimage", "env"}, env); r.Stdout != "A=1\nB=2\n" {
		t.Errorf("env: %+v", r)
	}
	if _, err := Parse([]string{"ckimage", "cat"}); !IsUsage(err) {
		t.Errorf("cat without a path: %v", err)
	}
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { auth = r.Header.Get("Authorization") }))
	defer srv.Close()
	if r, _ := Exec(ctx, []string{"ckimage", "fetch", "--bearer-file", "/t", srv.URL}, env); r.ExitCode != 0 || auth != "Bearer tok" {
		t.Errorf("fetch --bearer-file: %+v, Authorization %q", r, auth)
	}
}

func TestScriptRedirectsEchoToAFile(t *testing.T) {
	for _, tc := range []struct {
		script, path, text string
		code               int
		output             []string
	}{
		{"/bin/echo -n DONE > /dev/termination-custom-log", "/dev/termination-custom-log", "DONE", 0, []string{}},
		{"echo OK >/dev/termination-log; exit 3", "/dev/termination-log", "OK\n", 3, []string{}},
		{"/bin/echo -n DONE; /bin/false", "", "", 1, []string{"DONE"}},
	} {
		b := Main([]string{"/bin/sh", "-c", tc.script})
		if b.Kind != Exit || b.Code != tc.code || b.WritePath != tc.path || b.WriteText != tc.text || !reflect.DeepEqual(b.Output, tc.output) {
			t.Errorf("%q: %+v; want exit %d writing %q to %q, output %q", tc.script, b, tc.code, tc.text, tc.path, tc.output)
		}
	}
}

func TestExitWritesAndPrints(t *testing.T) {
	b, err := Parse([]string{"/ckimage", "exit", "--code", "1", "--print", "oops", "--write", "/dev/termination-log", "--text", "bad"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Code != 1 || b.WritePath != "/dev/termination-log" || b.WriteText != "bad" || !reflect.DeepEqual(b.StartLines("h"), []string{"oops"}) {
		t.Errorf("%+v", b)
	}
	if _, err := Parse([]string{"/ckimage", "exit", "--write", "relative"}); err == nil {
		t.Error("a relative --write path must be refused")
	}
}

// TestFetchOnTermRetriesUntilAnswered: a --term-fetch whose server is not listening yet is
// tried again until it answers, and a slow answer is waited for, not sent twice.
func TestFetchOnTermRetriesUntilAnswered(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	hits := make(chan string, 10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.URL.Query().Get("msg")
		time.Sleep(1500 * time.Millisecond) // slower than a short per-attempt timeout would allow
	})}
	go func() {
		time.Sleep(600 * time.Millisecond) // refused connections first
		l, err := net.Listen("tcp", addr)
		if err != nil {
			hits <- "listen: " + err.Error()
			return
		}
		_ = srv.Serve(l)
	}()
	defer srv.Close()
	begin := time.Now()
	FetchOnTerm(t.Context(), Behavior{TermFetch: "http://" + addr + "/log?msg=bye"}, nil)
	if took := time.Since(begin); took < 2*time.Second {
		t.Fatalf("FetchOnTerm returned after %s, before the server's answer", took)
	}
	close(hits)
	var got []string
	for h := range hits {
		got = append(got, h)
	}
	if !reflect.DeepEqual(got, []string{"bye"}) {
		t.Fatalf("the server saw %q, want exactly one request", got)
	}
}
