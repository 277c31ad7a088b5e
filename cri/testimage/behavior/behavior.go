package behavior

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Image references of the project's own images. The simulator recognises
// the test image and the pause image by the last path element of the
// repository ("ckimage", "pause"), so the same images pushed to a loopback
// registry (127.0.0.1:PORT/ckimage:v1) behave the same.
const (
	TestImage  = "clusterkit.local/ckimage:v1"
	PauseImage = "clusterkit.local/pause:v1"
	// TestBinary and PauseBinary are the paths of the programs inside the
	// images (each image's entrypoint).
	TestBinary  = "/ckimage"
	PauseBinary = "/pause"
	// DefaultPort is the port serve-hostname and liveness listen on.
	DefaultPort = 8080
	// DefaultFetchTimeout is how long fetch waits for an answer by default.
	DefaultFetchTimeout = 5 * time.Second
	// KilledExitCode is the exit code of a process ended by SIGKILL.
	KilledExitCode = 137
)

// Kind names one command of the language.
type Kind string

// The commands. The first group runs as a container's main process; the
// second only as exec commands (ExecSync, exec probes). Exit and Sleep are
// both.
const (
	Serve Kind = "serve-hostname"
	Exit  Kind = "exit"
	Sleep Kind = "sleep"
	Logs  Kind = "logs"
	Pause Kind = "pause"

	True     Kind = "true"
	False    Kind = "false"
	Hostname Kind = "hostname"
	Echo     Kind = "echo"
	Healthz  Kind = "healthz"
	Fetch    Kind = "fetch"
	Post     Kind = "post"
	// Cat prints files (cat PATH...); Env prints the environment (KEY=VALUE lines).
	Cat Kind = "cat"
	Env Kind = "env"
	// ProcStatus prints the process's identity and privilege lines of
	// /proc/self/status (Uid, Gid, Groups, CapEff, CapBnd, NoNewPrivs,
	// Seccomp); PID1 prints argv[0] of pid 1 in the container's pid
	// namespace; Touch PATH creates a file (exit 1 with the error, e.g. a
	// read-only file system).
	ProcStatus Kind = "proc-status"
	PID1       Kind = "pid1"
	Touch      Kind = "touch"
	// Write PATH [TEXT...] writes the words of TEXT joined by spaces (no newline) to PATH,
	// creating or truncating it with mode 0644 (exit 1 with the error).
	Write Kind = "write"
	// Fill PATH BYTES writes BYTES bytes ("x"s, at most MaxFill) to PATH, creating or
	// truncating it with mode 0644 (exit 1 with the error): a volume filled up.
	Fill Kind = "fill"
	// Stat PATH prints "MODE UID GID" of PATH (following links; MODE as Go's FileMode
	// prints it, e.g. -r--r----- or dgrwxrwxrwx), exit 1 when it does not exist.
	Stat Kind = "stat"
	// StatFS PATH prints "TYPE BYTES": the type of the file system holding PATH (tmpfs,
	// overlay, ext4, xfs, btrfs, else its magic number in hex) and its size.
	StatFS Kind = "statfs"
	// Remove PATH removes a file or a directory with its content (exit 1 with the error).
	Remove Kind = "rm"
	// Resolve NAME [--type A] [--timeout 5s] asks the container's nameservers (its
	// /etc/resolv.conf) one question as a stub resolver does: a name without a final dot
	// goes through the search list (ndots), a name with one is asked as it is. It prints the
	// outcome (see doc.go) and exits 0 when a nameserver answered, whatever the rcode.
	Resolve Kind = "resolve"
	// Cgroup prints the container's CPU and memory limits as its cgroup holds them, read
	// from cgroup v2 (/sys/fs/cgroup/cpu.max, memory.max) or v1 (cpu/cpu.cfs_quota_us and
	// cpu.cfs_period_us, memory/memory.limit_in_bytes): two lines, "cpu.max QUOTA PERIOD"
	// and "memory.max BYTES", "max" meaning no limit (what a resize changes in place).
	Cgroup Kind = "cgroup"
)

// Behavior is one parsed command.
type Behavior struct {
	Kind Kind
	// Port is the HTTP port of Serve and Healthz.
	Port int
	// GRPCPort (Serve): when set, grpc.health.v1 is served on this port too, SERVING
	// while /healthz answers 200 (see NewGRPCHealthServer).
	GRPCPort int
	// FailAfter (Serve): /healthz fails once this much time has passed since
	// the start; 0 means never.
	FailAfter time.Duration
	// ReadyAfter (Serve): /readyz answers 503 until this much time has passed.
	ReadyAfter time.Duration
	// Code and After (Exit): the exit code and the delay before exiting.
	Code  int
	After time.Duration
	// Duration (Sleep).
	Duration time.Duration
	// Lines (Logs): how many lines to print.
	Lines int
	// Args (Echo): the words to print.
	Args []string
	// Path (Healthz): the HTTP path to check.
	Path string
	// URL and Timeout (Fetch): what to GET and how long to wait for it.
	URL     string
	Timeout time.Duration
	// Count (Fetch): how many GETs, each on a new connection.
	Count int
	// BearerFile (Fetch): send the token this file holds as Authorization: Bearer (a
	// ServiceAccount token calling the API).
	BearerFile string
	// WritePath and WriteText (Exit): when WritePath is set the process writes WriteText to
	// that file (created or truncated) as it starts, e.g. /dev/termination-log.
	WritePath, WriteText string
	// Output replaces the start lines (generic commands such as
	// `sh -c "echo hi; exit 3"` in images other than ckimage).
	Output []string
	// TermDelay: on SIGTERM, wait this long before exiting 0.
	TermDelay time.Duration
	// Bytes (Fill): how many bytes to write.
	Bytes int64
	// IgnoreTerm: SIGTERM does nothing; only SIGKILL (exit 137) ends it.
	IgnoreTerm bool
	// QType (Resolve): the record type asked (A, AAAA, SRV, CNAME, TXT, PTR, ...).
	QType string
	// TermFetch: when leaving because of SIGTERM (after TermDelay), GET this http:// URL
	// first (its answer is ignored), e.g. a recorder's /log?msg=... telling when it left.
	TermFetch string
}

// errUsage classifies command-line errors: the real binary exits 2 on them.
var errUsage = errors.New("usage")

// IsUsage reports whether err came from a malformed command.
func IsUsage(err error) bool { return errors.Is(err, errUsage) }

// UsageExitCode is the exit code of ckimage on a malformed command.
const UsageExitCode = 2

// IsTestBinary reports whether argv[0] names the test image's program.
func IsTestBinary(arg0 string) bool { return path.Base(arg0) == "ckimage" }

// Parse parses a ckimage command line; argv[0] is the program ("ckimage" or
// "/ckimage"). A bare "ckimage" is Pause.
func Parse(argv []string) (Behavior, error) {
	if len(argv) == 0 || !IsTestBinary(argv[0]) {
		return Behavior{}, fmt.Errorf("%w: not a ckimage command: %q", errUsage, argv)
	}
	if len(argv) == 1 {
		return Behavior{Kind: Pause}, nil
	}
	b := Behavior{Kind: Kind(argv[1]), Port: DefaultPort, Path: "/healthz"}
	fs := flag.NewFlagSet(argv[1], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var failAfter, readyAfter, after, termDelay, timeout durationFlag
	longRunning := func() {
		fs.Var(&termDelay, "term-delay", "wait this long after SIGTERM before exiting")
		fs.BoolVar(&b.IgnoreTerm, "ignore-term", false, "ignore SIGTERM")
		fs.StringVar(&b.TermFetch, "term-fetch", "", "GET this URL when leaving because of SIGTERM")
	}
	rest := argv[2:]
	switch b.Kind {
	case Serve, "liveness":
		fs.IntVar(&b.Port, "port", DefaultPort, "HTTP port")
		fs.IntVar(&b.GRPCPort, "grpc-port", 0, "also serve grpc.health.v1 on this port")
		fs.Var(&failAfter, "fail-after", "fail /healthz after this long")
		fs.Var(&readyAfter, "ready-after", "answer /readyz 503 until this long")
		longRunning()
	case Exit:
		fs.IntVar(&b.Code, "code", 0, "exit code")
		fs.Var(&after, "after", "delay before exiting")
		fs.StringVar(&b.WritePath, "write", "", "write --text to this file as the process starts")
		fs.StringVar(&b.WriteText, "text", "", "what --write writes")
		fs.Func("print", "print this line instead of the start line", func(s string) error {
			b.Output = append(b.Output, s)
			return nil
		})
	case Sleep:
		longRunning()
	case Logs:
		fs.IntVar(&b.Lines, "lines", 10, "lines to print")
		longRunning()
	case Pause:
		longRunning()
	case True, False, Hostname, ProcStatus, PID1, Cgroup:
	case Touch:
		if len(rest) != 1 || !strings.HasPrefix(rest[0], "/") {
			return Behavior{}, fmt.Errorf("%w: touch needs one absolute path", errUsage)
		}
		b.Path = rest[0]
		return b, nil
	case Stat, StatFS, Remove:
		if len(rest) != 1 || !strings.HasPrefix(rest[0], "/") {
			return Behavior{}, fmt.Errorf("%w: %s needs one absolute path", errUsage, b.Kind)
		}
		b.Path = rest[0]
		return b, nil
	case Write:
		if len(rest) == 0 || !strings.HasPrefix(rest[0], "/") {
			return Behavior{}, fmt.Errorf("%w: write needs an absolute path", errUsage)
		}
		b.Path = rest[0]
		b.Args = append([]string{}, rest[1:]...)
		return b, nil
	case Fill:
		if len(rest) != 2 || !strings.HasPrefix(rest[0], "/") {
			return Behavior{}, fmt.Errorf("%w: fill needs an absolute path and a size in bytes", errUsage)
		}
		n, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil || n < 0 || n > MaxFill {
			return Behavior{}, fmt.Errorf("%w: fill: the size must be 0..%d bytes, got %q", errUsage, MaxFill, rest[1])
		}
		b.Path, b.Bytes = rest[0], n
		return b, nil
	case Echo:
		b.Args = append([]string{}, rest...)
		return b, nil
	case Cat:
		if len(rest) == 0 {
			return Behavior{}, fmt.Errorf("%w: cat needs at least one path", errUsage)
		}
		b.Args = append([]string{}, rest...)
		return b, nil
	case Env:
		if len(rest) != 0 {
			return Behavior{}, fmt.Errorf("%w: env takes no arguments", errUsage)
		}
		return b, nil
	case Healthz:
		fs.IntVar(&b.Port, "port", DefaultPort, "HTTP port")
		fs.StringVar(&b.Path, "path", "/healthz", "HTTP path")
	case Fetch:
		timeout.d = DefaultFetchTimeout
		fs.Var(&timeout, "timeout", "how long to wait for the answer")
		fs.IntVar(&b.Count, "count", 1, "how many GETs, each on a new connection")
		fs.StringVar(&b.BearerFile, "bearer-file", "", "send this file's token as Authorization: Bearer")
	case Post:
		fs.IntVar(&b.Port, "port", DefaultPort, "HTTP port")
	case Resolve:
		timeout.d = DefaultFetchTimeout
		fs.Var(&timeout, "timeout", "how long to wait for each nameserver")
		fs.StringVar(&b.QType, "type", "A", "the record type asked")
	default:
		return Behavior{}, fmt.Errorf("%w: unknown command %q", errUsage, argv[1])
	}
	// Flags and positional arguments may be interleaved ("sleep 3600 --term-delay 5s").
	var positional []string
	for {
		if err := fs.Parse(rest); err != nil {
			return Behavior{}, fmt.Errorf("%w: %s: %v", errUsage, argv[1], err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	b.FailAfter, b.ReadyAfter, b.After, b.TermDelay = failAfter.d, readyAfter.d, after.d, termDelay.d
	if b.TermFetch != "" {
		if u, err := url.Parse(b.TermFetch); err != nil || u.Scheme != "http" || u.Host == "" {
			return Behavior{}, fmt.Errorf("%w: --term-fetch: want an http:// URL, got %q", errUsage, b.TermFetch)
		}
	}
	switch b.Kind {
	case Fetch:
		if len(positional) != 1 {
			return Behavior{}, fmt.Errorf("%w: fetch needs one URL", errUsage)
		}
		u, err := url.Parse(positional[0])
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return Behavior{}, fmt.Errorf("%w: fetch: want an http:// URL, got %q", errUsage, positional[0])
		}
		if timeout.d <= 0 {
			return Behavior{}, fmt.Errorf("%w: fetch: --timeout must be positive", errUsage)
		}
		if b.Count < 1 || b.Count > 1000 {
			return Behavior{}, fmt.Errorf("%w: fetch: --count must be 1..1000", errUsage)
		}
		b.URL, b.Timeout = positional[0], timeout.d
		return b, nil
	case Exit:
		if b.WritePath != "" && !strings.HasPrefix(b.WritePath, "/") {
			return Behavior{}, fmt.Errorf("%w: exit: --write needs an absolute path", errUsage)
		}
	case Resolve:
		if len(positional) != 1 || positional[0] == "" {
			return Behavior{}, fmt.Errorf("%w: resolve needs one name", errUsage)
		}
		if _, ok := dnsTypes[strings.ToUpper(b.QType)]; !ok {
			return Behavior{}, fmt.Errorf("%w: resolve: unknown record type %q", errUsage, b.QType)
		}
		if timeout.d <= 0 {
			return Behavior{}, fmt.Errorf("%w: resolve: --timeout must be positive", errUsage)
		}
		b.Args, b.QType, b.Timeout = positional, strings.ToUpper(b.QType), timeout.d
		return b, nil
	case Post:
		if len(positional) != 1 || !strings.HasPrefix(positional[0], "/") {
			return Behavior{}, fmt.Errorf("%w: post needs one path starting with /", errUsage)
		}
		b.Path, positional = positional[0], nil
	case "liveness":
		b.Kind = Serve
		if b.FailAfter == 0 {
			return Behavior{}, fmt.Errorf("%w: liveness needs --fail-after", errUsage)
		}
	case Sleep:
		if len(positional) != 1 {
			return Behavior{}, fmt.Errorf("%w: sleep needs one duration", errUsage)
		}
		d, err := ParseDuration(positional[0])
		if err != nil {
			return Behavior{}, fmt.Errorf("%w: sleep: %v", errUsage, err)
		}
		b.Duration = d
		return b, nil
	}
	if len(positional) != 0 {
		return Behavior{}, fmt.Errorf("%w: %s: unexpected arguments %q", errUsage, argv[1], positional)
	}
	if b.Port <= 0 || b.Port > 65535 {
		return Behavior{}, fmt.Errorf("%w: bad port %d", errUsage, b.Port)
	}
	if b.GRPCPort < 0 || b.GRPCPort > 65535 || b.GRPCPort != 0 && b.GRPCPort == b.Port {
		return Behavior{}, fmt.Errorf("%w: bad gRPC port %d", errUsage, b.GRPCPort)
	}
	if b.Code < 0 || b.Code > 255 {
		return Behavior{}, fmt.Errorf("%w: exit code %d out of 0..255", errUsage, b.Code)
	}
	return b, nil
}

// ParseDuration accepts a Go duration ("2s", "1m30s") or a number of
// seconds ("3600", "0.5").
func ParseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 {
			return 0, fmt.Errorf("negative duration %q", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}

type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string { return f.d.String() }
func (f *durationFlag) Set(s string) error {
	d, err := ParseDuration(s)
	f.d = d
	return err
}

// RunsAsMain reports whether the command makes sense as a container's main
// process (it may end by itself, like Exit or Sleep).
func (b Behavior) RunsAsMain() bool {
	switch b.Kind {
	case Serve, Exit, Sleep, Logs, Pause:
		return true
	}
	return false
}

// Ends reports whether the main process ends by itself, and after how long
// and with which exit code.
func (b Behavior) Ends() (after time.Duration, code int, ends bool) {
	switch b.Kind {
	case Exit:
		return b.After, b.Code, true
	case Sleep:
		return b.Duration, 0, true
	}
	return 0, 0, false
}

// StartLines are the lines the process prints to stdout when it starts.
func (b Behavior) StartLines(hostname string) []string {
	if b.Output != nil {
		return b.Output
	}
	switch b.Kind {
	case Serve:
		return []string{fmt.Sprintf("serving hostname %s on port %d", hostname, b.Port)}
	case Exit:
		return []string{fmt.Sprintf("exiting with code %d after %s", b.Code, b.After)}
	case Sleep:
		return []string{fmt.Sprintf("sleeping %s", b.Duration)}
	case Logs:
		lines := make([]string, b.Lines)
		for i := range lines {
			lines[i] = fmt.Sprintf("line %d", i+1)
		}
		return lines
	}
	return nil
}

// TermLine is printed when the process leaves because of SIGTERM.
const TermLine = "terminated"

// String renders the behaviour back as a command line (without argv[0]).
func (b Behavior) String() string {
	parts := []string{string(b.Kind)}
	switch b.Kind {
	case Serve:
		parts = append(parts, "--port", strconv.Itoa(b.Port))
		if b.GRPCPort > 0 {
			parts = append(parts, "--grpc-port", strconv.Itoa(b.GRPCPort))
		}
		if b.FailAfter > 0 {
			parts = append(parts, "--fail-after", b.FailAfter.String())
		}
		if b.ReadyAfter > 0 {
			parts = append(parts, "--ready-after", b.ReadyAfter.String())
		}
	case Exit:
		parts = append(parts, "--code", strconv.Itoa(b.Code), "--after", b.After.String())
		if b.WritePath != "" {
			parts = append(parts, "--write", b.WritePath, "--text", b.WriteText)
		}
		for _, l := range b.Output {
			parts = append(parts, "--print", l)
		}
	case Sleep:
		parts = append(parts, b.Duration.String())
	case Logs:
		parts = append(parts, "--lines", strconv.Itoa(b.Lines))
	case Echo, Cat:
		parts = append(parts, b.Args...)
	case Healthz:
		parts = append(parts, "--port", strconv.Itoa(b.Port), "--path", b.Path)
	case Post:
		parts = append(parts, "--port", strconv.Itoa(b.Port), b.Path)
	case Touch, Stat, StatFS, Remove:
		parts = append(parts, b.Path)
	case Write:
		parts = append(append(parts, b.Path), b.Args...)
	case Fill:
		parts = append(parts, b.Path, strconv.FormatInt(b.Bytes, 10))
	case Fetch:
		parts = append(parts, b.URL, "--timeout", b.Timeout.String(), "--count", strconv.Itoa(b.Count))
	}
	return strings.Join(parts, " ")
}

// MaxFill bounds what fill writes.
const MaxFill = 64 << 20
