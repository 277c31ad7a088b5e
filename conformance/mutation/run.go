package mutation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Outcome is what became of a mutant.
type Outcome string

// The outcomes.
const (
	// Killed: a test failed with the mutant in place.
	Killed Outcome = "KILLED"
	// TimedOut: the tests did not finish within the timeout; counted as killed.
	TimedOut Outcome = "TIMEOUT"
	// Survived: every test passed with the mutant in place.
	Survived Outcome = "SURVIVED"
	// NotViable: the mutated code does not build; not counted.
	NotViable Outcome = "NOT VIABLE"
	// Equivalent: listed as an equivalent mutant; not run, not counted.
	Equivalent Outcome = "EQUIVALENT"
)

// Result is one mutant's outcome.
type Result struct {
	Mutant   Mutant
	Outcome  Outcome
	Duration time.Duration
	// Detail says why: the first failing test, the build error, the
	// equivalence reason.
	Detail string
}

// Runner runs tests against one mutant at a time. The tree is never
// changed: the mutated file is written to a temporary directory and handed
// to go test with -overlay.
type Runner struct {
	// Dir is the module root the go command runs in.
	Dir string
	// Tests are the package patterns whose tests run (go test's arguments).
	Tests []string
	// Run is go test's -run regexp ("" runs every test).
	Run string
	// Timeout bounds one mutant's build and tests; a mutant that exceeds it
	// is TimedOut. 0 means 10 minutes.
	Timeout time.Duration
	// BaselineTimeout bounds the unmutated run, which also builds every
	// dependency from a cold cache and sets the default Timeout: it does not
	// share Timeout's bound. 0 means 30 minutes.
	BaselineTimeout time.Duration
	// TempDir holds the overlays ("" means os.TempDir()).
	TempDir string
	// GoFlags are extra flags for go test, before the packages.
	GoFlags []string
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout <= 0 {
		return 10 * time.Minute
	}
	return r.Timeout
}

func (r *Runner) baselineTimeout() time.Duration {
	if r.BaselineTimeout <= 0 {
		return 30 * time.Minute
	}
	return r.BaselineTimeout
}

// Baseline runs the tests without a mutant; they must pass, or no mutant's
// outcome means anything. It returns how long they took.
func (r *Runner) Baseline(ctx context.Context) (time.Duration, error) {
	res := r.exec(ctx, "", r.baselineTimeout())
	switch res.Outcome {
	case Survived:
		return res.Duration, nil
	case NotViable:
		return res.Duration, fmt.Errorf("the unmutated tests do not build: %s", res.Detail)
	default:
		return res.Duration, fmt.Errorf("the unmutated tests do not pass (%s): %s", res.Outcome, res.Detail)
	}
}

// Test applies the mutant and runs the tests.
func (r *Runner) Test(ctx context.Context, m Mutant) Result {
	dir, err := os.MkdirTemp(r.TempDir, "mutant-")
	if err != nil {
		return Result{Mutant: m, Outcome: NotViable, Detail: err.Error()}
	}
	defer os.RemoveAll(dir)
	overlay, err := writeOverlay(dir, m)
	if err != nil {
		return Result{Mutant: m, Outcome: NotViable, Detail: err.Error()}
	}
	res := r.exec(ctx, overlay, r.timeout())
	res.Mutant = m
	return res
}

// writeOverlay writes the mutated file and the overlay JSON mapping the
// original to it, and returns the overlay's path.
func writeOverlay(dir string, m Mutant) (string, error) {
	src, err := os.ReadFile(m.Path)
	if err != nil {
		return "", err
	}
	mutated, err := m.Apply(src)
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, filepath.Base(m.Path))
	if err := os.WriteFile(file, mutated, 0o644); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(m.Path)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(map[string]map[string]string{"Replace": {abs: file}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, b, 0o644)
}

// testEvent is one line of go test -json (cmd/test2json, and the build
// events of go 1.24 and later).
type testEvent struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	FailedBuild string
}

// exec runs go test (with the overlay, unless empty) under timeout and
// classifies it.
func (r *Runner) exec(ctx context.Context, overlay string, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{"test", "-json", "-count=1", "-failfast", "-timeout", timeout.String()}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	if r.Run != "" {
		args = append(args, "-run", r.Run)
	}
	args = append(args, r.GoFlags...)
	args = append(args, r.Tests...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.Dir
	killGroup(cmd)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{Outcome: NotViable, Detail: err.Error()}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{Outcome: NotViable, Detail: err.Error()}
	}
	c := classify(stdout)
	err = cmd.Wait()
	res := Result{Duration: time.Since(start)}
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded), c.timedOut:
		res.Outcome, res.Detail = TimedOut, "no result within "+timeout.String()
	case c.buildFailed != "":
		res.Outcome, res.Detail = NotViable, c.buildFailed
	case c.failedTest != "":
		res.Outcome, res.Detail = Killed, c.failedTest
	case err != nil:
		detail := strings.TrimSpace(stderr.String())
		if detail == "" {
			detail = c.lastOutput
		}
		if strings.Contains(detail, "build failed") || strings.Contains(detail, "setup failed") {
			res.Outcome = NotViable
		} else {
			res.Outcome = Killed
		}
		res.Detail = firstLine(err.Error() + ": " + detail)
	default:
		res.Outcome = Survived
		if c.tests == 0 {
			res.Detail = "no test ran"
		}
	}
	return res
}

type classification struct {
	buildFailed string
	failedTest  string
	timedOut    bool
	tests       int
	lastOutput  string
}

func classify(out io.Reader) classification {
	var c classification
	var buildOut []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var ev testEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Action {
		case "build-output":
			if len(buildOut) < 3 && strings.TrimSpace(ev.Output) != "" && !strings.HasPrefix(ev.Output, "#") {
				buildOut = append(buildOut, strings.TrimSpace(ev.Output))
			}
		case "build-fail":
			c.buildFailed = "build failed: " + strings.Join(buildOut, "; ")
		case "run":
			c.tests++
		case "fail":
			if ev.FailedBuild != "" && c.buildFailed == "" {
				c.buildFailed = "build failed: " + strings.Join(buildOut, "; ")
			}
			if ev.Test != "" && (c.failedTest == "" || strings.HasPrefix(ev.Test, c.failedTest+"/")) {
				c.failedTest = ev.Test
			}
		case "output":
			if strings.Contains(ev.Output, "panic: test timed out after") {
				c.timedOut = true
			}
			if s := strings.TrimSpace(ev.Output); s != "" {
				c.lastOutput = s
			}
		}
	}
	return c
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestAll runs the mutants, jobs at a time, calling progress (serialised)
// as each finishes; results are in the mutants' order. Mutants for which
// skip returns a reason are not run: they are Equivalent with that reason.
func (r *Runner) TestAll(ctx context.Context, mutants []Mutant, jobs int, skip func(Mutant) (string, bool), progress func(i int, res Result)) []Result {
	if jobs < 1 {
		jobs = 1
	}
	results := make([]Result, len(mutants))
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var res Result
				if reason, ok := skip(mutants[i]); ok {
					res = Result{Mutant: mutants[i], Outcome: Equivalent, Detail: reason}
				} else {
					res = r.Test(ctx, mutants[i])
				}
				mu.Lock()
				results[i] = res
				if progress != nil {
					progress(i, res)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range mutants {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}
