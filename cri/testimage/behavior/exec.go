package behavior

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// ExecEnv is what an exec command can see of its container.
type ExecEnv struct {
	// Hostname of the container (the pod's hostname).
	Hostname string
	// HTTPHost is where the container's own HTTP port is reached:
	// "127.0.0.1" inside a real container, the pod IP in the simulator.
	HTTPHost string
	// TestImage: the container runs the ckimage image, which holds no other
	// program (exec of anything else fails as "executable file not found").
	// Other images accept any command (see Exec).
	TestImage bool
	// Files (simulator, other images) are what `cat PATH` shows.
	Files map[string]string
	// ReadFile reads a file of the container for `ckimage cat` (os.ReadFile inside a real
	// container; the simulator reads the container's mounts). Nil reads Files.
	ReadFile func(path string) ([]byte, error)
	// Environ is the container's environment (KEY=VALUE) for `ckimage env`.
	Environ []string
	// Dial, when set, opens every connection an exec command makes (fetch,
	// healthz, post): the container's network, e.g. a dialer that starts in
	// the pod's network namespace. Nil dials from the calling process.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Process (simulator) is the modelled process the security commands
	// observe; nil reads the real /proc and file system.
	Process *Process
	// WriteFile (simulator) writes a file of the container for `touch` and `write`: through
	// the container's mounts to the node's files, else into the container's own file system
	// (what `cat` shows next). Nil writes the real file system.
	WriteFile func(path string, data []byte) error
	// Stat (simulator) answers `stat PATH`: mode, owner and group of a file of the container.
	// Nil stats the real file system.
	Stat func(path string) (FileStat, error)
	// StatFS (simulator) answers `statfs PATH` ("TYPE BYTES"). Nil asks the real kernel.
	StatFS func(path string) (string, error)
	// Remove (simulator) answers `rm PATH`. Nil removes from the real file system.
	Remove func(path string) error
}

// FileStat is what `ckimage stat` prints of a file.
type FileStat struct {
	Mode     fs.FileMode
	UID, GID uint32
}

// String is the line stat prints.
func (s FileStat) String() string { return fmt.Sprintf("%s %d %d", s.Mode, s.UID, s.GID) }

// ExecResult is the outcome of an exec command.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int
}

// ErrNotFound is returned when the executable does not exist in the image.
var ErrNotFound = errors.New("executable file not found in $PATH")

// Exec runs an exec command the way the test image does. In the ckimage
// image only ckimage commands exist. In other images (simulator only) a
// small generic set is understood — true, false, echo, hostname, sleep,
// sh -c "exit N" — and every other command succeeds with no output.
func Exec(ctx context.Context, argv []string, env ExecEnv) (ExecResult, error) {
	if len(argv) == 0 {
		return ExecResult{}, fmt.Errorf("empty command: %w", ErrNotFound)
	}
	if !IsTestBinary(argv[0]) {
		if env.TestImage {
			return ExecResult{}, fmt.Errorf("exec %q: %w", argv[0], ErrNotFound)
		}
		return genericExec(ctx, argv, env)
	}
	b, err := Parse(argv)
	if err != nil {
		return ExecResult{Stderr: err.Error() + "\n", ExitCode: UsageExitCode}, nil
	}
	switch b.Kind {
	case True, Pause:
		return ExecResult{}, nil
	case False:
		return ExecResult{ExitCode: 1}, nil
	case Hostname:
		return ExecResult{Stdout: env.Hostname + "\n"}, nil
	case Echo:
		if len(b.Args) > 0 && b.Args[0] == "-n" {
			return ExecResult{Stdout: strings.Join(b.Args[1:], " ")}, nil
		}
		return ExecResult{Stdout: strings.Join(b.Args, " ") + "\n"}, nil
	case Exit:
		if err := wait(ctx, b.After); err != nil {
			return ExecResult{}, err
		}
		return ExecResult{ExitCode: b.Code}, nil
	case Sleep:
		if err := wait(ctx, b.Duration); err != nil {
			return ExecResult{}, err
		}
		return ExecResult{}, nil
	case Healthz:
		return healthz(ctx, env.Dial, env.HTTPHost, b.Port, b.Path), nil
	case Fetch:
		if b.Count > 1 {
			return fetchMany(ctx, env.Dial, b.URL, b.Timeout, b.Count), nil
		}
		token := ""
		if b.BearerFile != "" {
			data, err := env.readFile(b.BearerFile)
			if err != nil {
				return ExecResult{Stderr: "fetch: " + b.BearerFile + ": No such file or directory\n", ExitCode: 1}, nil
			}
			token = strings.TrimSpace(string(data))
		}
		return fetch(ctx, env.Dial, b.URL, b.Timeout, token), nil
	case Post:
		return post(ctx, env.Dial, env.HTTPHost, b.Port, b.Path), nil
	case Resolve:
		return resolve(ctx, env, b.Args[0], b.QType, b.Timeout), nil
	case Logs:
		return ExecResult{Stdout: strings.Join(b.StartLines(env.Hostname), "\n") + "\n"}, nil
	case Cat:
		var out strings.Builder
		for _, p := range b.Args {
			data, err := env.readFile(p)
			if err != nil {
				return ExecResult{Stdout: out.String(), Stderr: "cat: " + p + ": No such file or directory\n", ExitCode: 1}, nil
			}
			out.Write(data)
		}
		return ExecResult{Stdout: out.String()}, nil
	case Env:
		var out strings.Builder
		for _, kv := range env.Environ {
			out.WriteString(kv + "\n")
		}
		return ExecResult{Stdout: out.String()}, nil
	case Cgroup:
		return cgroupLimits(env), nil
	case ProcStatus:
		if env.Process != nil {
			return ExecResult{Stdout: env.Process.Status()}, nil
		}
		return realProcStatus(), nil
	case PID1:
		if env.Process != nil {
			return ExecResult{Stdout: env.Process.PID1 + "\n"}, nil
		}
		return realPID1(), nil
	case Touch:
		if env.WriteFile != nil {
			return writeResult("touch", b.Path, env.WriteFile(b.Path, nil)), nil
		}
		if env.Process != nil {
			return simulatedTouch(env.Process, b.Path), nil
		}
		return realTouch(b.Path), nil
	case Stat:
		stat := RealStat
		if env.Stat != nil {
			stat = env.Stat
		}
		st, err := stat(b.Path)
		if err != nil {
			return ExecResult{Stderr: "stat: " + b.Path + ": No such file or directory\n", ExitCode: 1}, nil
		}
		return ExecResult{Stdout: st.String() + "\n"}, nil
	case Remove:
		remove := os.RemoveAll
		if env.Remove != nil {
			remove = env.Remove
		}
		return writeResult("rm", b.Path, remove(b.Path)), nil
	case StatFS:
		statfs := RealStatFS
		if env.StatFS != nil {
			statfs = env.StatFS
		}
		line, err := statfs(b.Path)
		if err != nil {
			return ExecResult{Stderr: "statfs: " + b.Path + ": No such file or directory\n", ExitCode: 1}, nil
		}
		return ExecResult{Stdout: line + "\n"}, nil
	case Write:
		data := []byte(strings.Join(b.Args, " "))
		if env.WriteFile != nil {
			return writeResult("write", b.Path, env.WriteFile(b.Path, data)), nil
		}
		return writeResult("write", b.Path, realWrite(b.Path, data)), nil
	case Fill:
		data := bytes.Repeat([]byte("x"), int(b.Bytes))
		if env.WriteFile != nil {
			return writeResult("fill", b.Path, env.WriteFile(b.Path, data)), nil
		}
		return writeResult("fill", b.Path, realWrite(b.Path, data)), nil
	}
	// Serve as an exec command would start a second server: treat as usage.
	return ExecResult{Stderr: fmt.Sprintf("%s cannot run as an exec command\n", b.Kind), ExitCode: UsageExitCode}, nil
}

// readFile reads a file of the container (ReadFile, else Files).
func (e ExecEnv) readFile(p string) ([]byte, error) {
	if e.ReadFile != nil {
		return e.ReadFile(p)
	}
	if content, ok := e.Files[p]; ok {
		return []byte(content), nil
	}
	return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
}

func genericExec(ctx context.Context, argv []string, env ExecEnv) (ExecResult, error) {
	if path.Base(argv[0]) == "hostname" {
		return ExecResult{Stdout: env.Hostname + "\n"}, nil
	}
	if path.Base(argv[0]) == "cat" && len(argv) > 1 {
		var out strings.Builder
		for _, f := range argv[1:] {
			content, ok := env.Files[f]
			if !ok {
				return ExecResult{Stderr: "cat: can't open '" + f + "': No such file or directory\n", ExitCode: 1}, nil
			}
			out.WriteString(content)
		}
		return ExecResult{Stdout: out.String()}, nil
	}
	if path.Base(argv[0]) == "echo" {
		// echo's output, exact: "-n" drops the newline.
		if len(argv) > 1 && argv[1] == "-n" {
			return ExecResult{Stdout: strings.Join(argv[2:], " ")}, nil
		}
		return ExecResult{Stdout: strings.Join(argv[1:], " ") + "\n"}, nil
	}
	b := generic(argv)
	if b.Kind != Exit {
		return ExecResult{}, nil
	}
	if err := wait(ctx, b.After); err != nil {
		return ExecResult{}, err
	}
	out := ""
	if len(b.Output) > 0 {
		out = strings.Join(b.Output, "\n") + "\n"
	}
	return ExecResult{Stdout: out, ExitCode: b.Code}, nil
}

// dialFunc opens an exec command's connections (see ExecEnv.Dial).
type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

func healthz(ctx context.Context, dial dialFunc, host string, port int, p string) ExecResult {
	if host == "" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + p
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ExecResult{Stderr: err.Error() + "\n", ExitCode: 1}
	}
	client := http.DefaultClient
	if dial != nil {
		client = &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: dial, DisableKeepAlives: true}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return ExecResult{Stderr: err.Error() + "\n", ExitCode: 1}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return ExecResult{Stdout: resp.Status + "\n"}
	}
	return ExecResult{Stderr: resp.Status + "\n", ExitCode: 1}
}

// fetch GETs url: the body on stdout and exit 0 for 2xx/3xx; the status or
// the error on stderr and exit 1 otherwise. Redirects are not followed.
func fetch(ctx context.Context, dial dialFunc, url string, timeout time.Duration, token string) ExecResult {
	resp, body, err := get(ctx, dial, url, timeout, token)
	switch {
	case resp == nil:
		return ExecResult{Stderr: err.Error() + "\n", ExitCode: 1}
	case err != nil:
		return ExecResult{Stdout: body, Stderr: err.Error() + "\n", ExitCode: 1}
	case resp.StatusCode >= 200 && resp.StatusCode < 400:
		return ExecResult{Stdout: body}
	}
	return ExecResult{Stdout: body, Stderr: resp.Status + "\n", ExitCode: 1}
}

// get GETs url on a new connection within timeout and reads at most 1 MiB of the body; the
// response is nil when no answer came.
func get(ctx context.Context, dial dialFunc, url string, timeout time.Duration, token string) (*http.Response, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DialContext: dial, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(body), err
}

// fetchMany GETs url count times, each on a new connection, and prints one
// line per request: the body (its line breaks replaced by spaces) or
// "error: " and the failure. It exits 0 when every request succeeded.
func fetchMany(ctx context.Context, dial dialFunc, url string, timeout time.Duration, count int) ExecResult {
	var out strings.Builder
	code := 0
	for i := 0; i < count; i++ {
		r := fetch(ctx, dial, url, timeout, "")
		if r.ExitCode != 0 {
			code = 1
			fmt.Fprintf(&out, "error: %s\n", oneLine(r.Stderr))
			continue
		}
		fmt.Fprintf(&out, "%s\n", oneLine(r.Stdout))
	}
	return ExecResult{Stdout: out.String(), ExitCode: code}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// post sends POST to path on the container's own HTTP port.
func post(ctx context.Context, dial dialFunc, host string, port int, p string) ExecResult {
	if host == "" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort(host, strconv.Itoa(port))+p, nil)
	if err != nil {
		return ExecResult{Stderr: err.Error() + "\n", ExitCode: 1}
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil, DialContext: dial, DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return ExecResult{Stderr: err.Error() + "\n", ExitCode: 1}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return ExecResult{Stdout: string(body) + "\n"}
	}
	return ExecResult{Stdout: string(body), Stderr: resp.Status + "\n", ExitCode: 1}
}

func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TermFetchTimeout bounds the GET of --term-fetch, retries included.
const TermFetchTimeout = 20 * time.Second

// termFetchRetry is the pause before --term-fetch tries again after its connection failed.
const termFetchRetry = 250 * time.Millisecond

// FetchOnTerm GETs b.TermFetch (when set) as a process leaving because of SIGTERM does, its
// connection opened by dial (nil: the default dialer); the answer is ignored. It tries again
// while no answer came (a peer not yet reachable, a refused connection), within
// TermFetchTimeout; one attempt may wait for all of the time left, so that a slow answer on a
// loaded machine is still an answer and the server never sees the request twice.
func FetchOnTerm(ctx context.Context, b Behavior, dial func(ctx context.Context, network, address string) (net.Conn, error)) {
	if b.TermFetch == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, TermFetchTimeout)
	defer cancel()
	for {
		if resp, _, _ := get(ctx, dial, b.TermFetch, TermFetchTimeout, ""); resp != nil {
			return
		}
		t := time.NewTimer(termFetchRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Cgroup files the cgroup command reads (v1 paths as a container sees its own cgroup).
const (
	CgroupV2CPUMax      = "/sys/fs/cgroup/cpu.max"
	CgroupV2MemoryMax   = "/sys/fs/cgroup/memory.max"
	CgroupV1CPUQuota    = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
	CgroupV1CPUPeriod   = "/sys/fs/cgroup/cpu/cpu.cfs_period_us"
	CgroupV1MemoryLimit = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// cgroupLimits prints the container's CPU quota and period and its memory limit from its
// cgroup files, v2 first.
func cgroupLimits(env ExecEnv) ExecResult {
	read := func(p string) (string, bool) {
		data, err := env.readFile(p)
		return strings.TrimSpace(string(data)), err == nil
	}
	if cpu, ok := read(CgroupV2CPUMax); ok {
		mem, _ := read(CgroupV2MemoryMax)
		return ExecResult{Stdout: "cpu.max " + cpu + "\nmemory.max " + mem + "\n"}
	}
	quota, ok1 := read(CgroupV1CPUQuota)
	period, ok2 := read(CgroupV1CPUPeriod)
	mem, ok3 := read(CgroupV1MemoryLimit)
	if !ok1 || !ok2 || !ok3 {
		return ExecResult{Stderr: "cgroup: no cgroup v1 or v2 CPU and memory files\n", ExitCode: 1}
	}
	if quota == "-1" {
		quota = "max"
	}
	// v1 has no "unlimited" word: a limit within a page of the largest int64 is none.
	if n, err := strconv.ParseInt(mem, 10, 64); err == nil && n >= 1<<62 {
		mem = "max"
	}
	return ExecResult{Stdout: "cpu.max " + quota + " " + period + "\nmemory.max " + mem + "\n"}
}
