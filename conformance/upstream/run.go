package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	ginkgotypes "github.com/onsi/ginkgo/v2/types"
)

// SetupFailed starts the message of specs that did not run because the
// e2e framework's suite setup failed in their process.
const SetupFailed = "the e2e framework's suite setup failed: "

// ConformanceFocus selects the conformance specs of e2e.test.
const ConformanceFocus = `\[Conformance\]`

// ListSpecs asks e2e.test (a dry run, no cluster contacted) for the full
// texts of its conformance specs, and which of them are serial.
func ListSpecs(ctx context.Context, e2e, workDir string) ([]string, map[string]bool, error) {
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, nil, err
	}
	report := filepath.Join(workDir, "dry-run.json")
	cmd := exec.CommandContext(ctx, e2e, "--provider=skeleton", "-ginkgo.dry-run", "-ginkgo.no-color",
		"-ginkgo.focus="+ConformanceFocus, "-ginkgo.json-report="+report, "--report-dir="+workDir)
	cmd.Dir = workDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("listing the specs (%s -ginkgo.dry-run): %w\n%s", e2e, err, tail(string(out), 2000))
	}
	reports, err := readReports(report)
	if err != nil {
		return nil, nil, err
	}
	var texts []string
	serial := map[string]bool{}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != ginkgotypes.NodeTypeIt || s.State != ginkgotypes.SpecStatePassed {
				continue
			}
			t := s.FullText()
			texts = append(texts, t)
			for _, l := range s.Labels() {
				if l == "Serial" {
					serial[t] = true
				}
			}
		}
	}
	if len(texts) == 0 {
		return nil, nil, fmt.Errorf("e2e.test listed no conformance specs (see %s)", report)
	}
	sort.Strings(texts)
	return texts, serial, nil
}

func readReports(path string) ([]ginkgotypes.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []ginkgotypes.Report
	if err := json.Unmarshal(b, &reports); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return reports, nil
}

// RunOptions configure a run of selected specs.
type RunOptions struct {
	Binaries   *Binaries
	Kubeconfig string
	// ResultsDir receives junit_01.xml, e2e.log, summary.txt, results.json
	// and shards/ (each process's own log and reports).
	ResultsDir string
	// Parallel is how many e2e.test processes run the non-serial specs at
	// once (default 6: most specs wait on the cluster, not on a CPU).
	Parallel int
	// ShardSize is the most specs one process runs (default: enough
	// shards to keep every process busy, at most 4 specs each: a spec that
	// fails by timing out holds its whole shard for minutes).
	ShardSize int
	// Timeout bounds each e2e.test process (default 1h).
	Timeout time.Duration
	// Args are extra flags for e2e.test (e.g. --kube-test-repo-list=F).
	Args []string
	// Progress receives a line as each shard ends.
	Progress func(format string, args ...any)
}

// SpecResult is the outcome of one selected spec.
type SpecResult struct {
	Spec
	// State is passed, failed, skipped, or what Ginkgo reported (panicked,
	// timedout, interrupted, aborted); "not run" when e2e.test exited
	// without reporting it.
	State    string        `json:"state"`
	Message  string        `json:"message,omitempty"`
	Location string        `json:"location,omitempty"`
	Duration time.Duration `json:"duration"`
	// Shard is the directory under shards/ holding its process's log.
	Shard string `json:"shard"`
	// report is Ginkgo's own report of the spec (nil when not run).
	report *ginkgotypes.SpecReport
}

// Passed and Failed classify a result for the table; skipped specs are
// neither.
func (r SpecResult) Passed() bool { return r.State == "passed" }

// Failed is true for every state but passed and skipped.
func (r SpecResult) Failed() bool { return r.State != "passed" && r.State != "skipped" }

// Result is a whole run.
type Result struct {
	Specs   []SpecResult
	Elapsed time.Duration
	// Suite is the merged Ginkgo report the JUnit file is made from.
	suite ginkgotypes.Report
}

type shard struct {
	name  string
	specs []Spec
}

// Run runs specs against the cluster: the non-serial ones in shards of
// exact names, Parallel processes at once, then the serial ones in one
// process; specs a crashed process never reported are run again one per
// process. It writes the results and returns them; an error means the run
// itself could not happen, not that specs failed.
func Run(ctx context.Context, specs []Spec, o RunOptions) (*Result, error) {
	if o.Parallel <= 0 {
		o.Parallel = 6
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Hour
	}
	say := o.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	if err := os.MkdirAll(filepath.Join(o.ResultsDir, "shards"), 0o755); err != nil {
		return nil, err
	}
	var parallel, serial []Spec
	for _, s := range specs {
		if s.Serial {
			serial = append(serial, s)
		} else {
			parallel = append(parallel, s)
		}
	}
	size := o.ShardSize
	if size <= 0 {
		size = (len(parallel) + 3*o.Parallel - 1) / (3 * o.Parallel)
		size = max(1, min(size, 4))
	}
	var shards []shard
	for i := 0; i < len(parallel); i += size {
		shards = append(shards, shard{specs: parallel[i:min(i+size, len(parallel))]})
	}
	r := &runner{o: o, say: say, results: map[string]SpecResult{}, total: len(specs)}
	start := time.Now()
	say("running %d specs: %d in %d shards, %d at a time, then %d serial", len(specs), len(parallel), len(shards), o.Parallel, len(serial))
	r.runAll(ctx, shards, o.Parallel)
	if len(serial) > 0 {
		r.runAll(ctx, []shard{{specs: serial}}, 1)
	}
	// What a crashed process did not report runs again, alone.
	var again []shard
	for _, s := range specs {
		if res, ok := r.results[s.Text]; !ok || res.State == "not run" {
			again = append(again, shard{specs: []Spec{s}})
		}
	}
	if len(again) > 0 && ctx.Err() == nil {
		say("%d specs were not reported by their process; running each alone", len(again))
		r.runAll(ctx, again, o.Parallel)
	}
	res := &Result{Elapsed: time.Since(start)}
	for _, s := range specs {
		sr, ok := r.results[s.Text]
		if !ok {
			sr = SpecResult{Spec: s, State: "not run", Message: "e2e.test did not run it (interrupted?)"}
		}
		res.Specs = append(res.Specs, sr)
	}
	res.suite = mergeReports(r.reports, res)
	if err := writeResults(o.ResultsDir, res, r.logs); err != nil {
		return res, err
	}
	return res, ctx.Err()
}

type runner struct {
	o   RunOptions
	say func(string, ...any)

	mu      sync.Mutex
	n       int
	total   int
	results map[string]SpecResult
	reports []ginkgotypes.Report
	logs    []string
}

func (r *runner) runAll(ctx context.Context, shards []shard, parallel int) {
	work := make(chan shard)
	var wg sync.WaitGroup
	for range min(parallel, len(shards)) {
		wg.Go(func() {
			for s := range work {
				r.runShard(ctx, s)
			}
		})
	}
	for _, s := range shards {
		r.mu.Lock()
		r.n++
		s.name = fmt.Sprintf("%03d", r.n)
		r.mu.Unlock()
		select {
		case work <- s:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
}

// focusFor matches exactly the given spec texts. Ginkgo matches focus
// against the suite's description, a space and the spec text, so the
// expression is anchored at the end and at the space before the text.
func focusFor(specs []Spec) string {
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = regexp.QuoteMeta(s.Text)
	}
	return "(?:^| )(?:" + strings.Join(parts, "|") + ")$"
}

func (r *runner) runShard(ctx context.Context, s shard) {
	dir := filepath.Join(r.o.ResultsDir, "shards", s.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.record(s, nil, err, 0)
		return
	}
	logPath := filepath.Join(dir, "e2e.log")
	reportPath := filepath.Join(dir, "report.json")
	args := []string{
		"--provider=skeleton",
		"--kubeconfig=" + r.o.Kubeconfig,
		"--report-dir=" + dir,
		"-ginkgo.focus=" + focusFor(s.specs),
		"-ginkgo.json-report=" + reportPath,
		"-ginkgo.no-color", "-ginkgo.v",
		"-ginkgo.timeout=" + r.o.Timeout.String(),
		// The log dump runs a script of the Kubernetes source tree's cluster/ directory.
		"--disable-log-dump",
	}
	if r.o.Binaries.Kubectl != "" {
		args = append(args, "--kubectl-path="+r.o.Binaries.Kubectl)
	}
	args = append(args, r.o.Args...)
	pctx, cancel := context.WithTimeout(ctx, r.o.Timeout+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(pctx, r.o.Binaries.E2E, args...)
	cmd.Dir = dir
	// Interrupted, e2e.test gets Ginkgo's interrupt (it cleans up the
	// spec's namespace), and is killed 30 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	logf, err := os.Create(logPath)
	if err != nil {
		r.record(s, nil, err, 0)
		return
	}
	fmt.Fprintf(logf, "# %s %s\n", r.o.Binaries.E2E, strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	runErr := cmd.Run()
	_ = logf.Close()
	var reports []ginkgotypes.Report
	if rep, err := readReports(reportPath); err == nil {
		reports = rep
	} else if runErr == nil {
		runErr = err
	}
	if runErr != nil {
		var ee *exec.ExitError
		// Exit status 1 is Ginkgo's "some specs failed": not a crash.
		if errors.As(runErr, &ee) && ee.ExitCode() == 1 && reports != nil {
			runErr = nil
		}
	}
	r.mu.Lock()
	r.logs = append(r.logs, logPath)
	r.reports = append(r.reports, reports...)
	r.mu.Unlock()
	r.record(s, reports, runErr, time.Since(start))
}

// record stores the shard's results and prints its progress line.
func (r *runner) record(s shard, reports []ginkgotypes.Report, runErr error, took time.Duration) {
	byText := map[string]*ginkgotypes.SpecReport{}
	// A failed suite setup (the framework's SynchronizedBeforeSuite) skips
	// every spec: each of them failed for that reason.
	setup := ""
	for i := range reports {
		for j := range reports[i].SpecReports {
			sr := &reports[i].SpecReports[j]
			switch {
			case sr.LeafNodeType == ginkgotypes.NodeTypeIt:
				byText[sr.FullText()] = sr
			case sr.LeafNodeType.Is(ginkgotypes.NodeTypesForSuiteLevelNodes) && sr.State.Is(ginkgotypes.SpecStateFailureStates) && setup == "":
				setup = firstLine(sr.Failure.Message)
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	passed, failed := 0, 0
	for _, sp := range s.specs {
		res := SpecResult{Spec: sp, Shard: s.name}
		if rep, ok := byText[sp.Text]; setup != "" && (!ok || rep.State == ginkgotypes.SpecStateSkipped) {
			res.State = "failed"
			res.Message = SetupFailed + setup
		} else if ok && rep.State != ginkgotypes.SpecStateInvalid {
			res.State = rep.State.String()
			res.Duration = rep.RunTime
			res.report = rep
			if rep.State.Is(ginkgotypes.SpecStateFailureStates) {
				res.Message = rep.Failure.Message
				if rep.Failure.ForwardedPanic != "" {
					res.Message = "panic: " + rep.Failure.ForwardedPanic + "\n" + res.Message
				}
				res.Location = rep.Failure.Location.String()
			}
		} else {
			res.State = "not run"
			res.Message = "e2e.test exited without reporting this spec"
			if runErr != nil {
				res.Message += ": " + runErr.Error()
			}
			res.Message += " (see shards/" + s.name + "/e2e.log)"
		}
		if prev, ok := r.results[sp.Text]; ok && prev.State != "not run" {
			continue
		}
		r.results[sp.Text] = res
		if res.Passed() {
			passed++
		} else if res.Failed() {
			failed++
		}
	}
	tp, tf := 0, 0
	for _, v := range r.results {
		if v.Passed() {
			tp++
		} else if v.Failed() && v.State != "not run" {
			tf++
		}
	}
	r.say("shard %s: %d specs, %d passed, %d failed in %s — so far %d passed, %d failed of %d",
		s.name, len(s.specs), passed, failed, took.Round(time.Second), tp, tf, r.total)
}
