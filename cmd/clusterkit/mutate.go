package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/clusterkit/clusterkit/conformance/mutation"
)

// mutateOptions are the flags of clusterkit conformance mutate.
type mutateOptions struct {
	dir         string
	packages    []string
	tests       []string
	run         string
	files       string
	funcs       string
	operators   []string
	equivalents string
	threshold   float64
	list        bool
	max         int
	seed        uint64
	jobs        int
	timeout     time.Duration
	baseTimeout time.Duration
}

func newMutateCommand() *cobra.Command {
	o := mutateOptions{}
	cmd := &cobra.Command{
		Use:   "mutate",
		Short: "Mutation-test the reference implementations: apply small bugs one at a time and report which the tests catch",
		Long: `Prove that the conformance suite catches the bugs implementers really make:
apply one small, plausible bug (a mutant) at a time to the reference code and
run the tests against it.

The mutants come from the kit's operator set, applied to the non-test Go files
of --packages (narrowed with --files and --funcs):
  comparison-boundary  < ↔ <=, > ↔ >=
  comparison-negation  == ↔ !=, < ↔ >=, > ↔ <=
  logical-swap         && ↔ ||
  not-dropped          !x → x
  int-increment        an integer literal n → n+1
  int-decrement        an integer literal n → n-1 (n > 0)
  return-bool-swap     return true ↔ return false
  if-true, if-false    an if's condition forced true, or false
  branch-removed       an unlabelled break or continue removed (not in a
                       loop without a condition, which might never end)
The tree is never touched: each mutated file is written to a temporary
directory and handed to "go test -overlay", which runs the tests of --tests
(default: --packages) selected by --run, with -failfast, under --timeout.

Each mutant gets a line as it finishes:
  KILLED      a test failed: the tests catch the bug
  TIMEOUT     the tests did not finish in time (counted as killed)
  SURVIVED    every test passed: the tests let the bug through
  NOT VIABLE  the mutated code does not build (reported apart, not counted)
  EQUIVALENT  listed in --equivalents with the reason no test can see it
              (not run, not counted)
then the survivors with file:line:col, the equivalents, the kill rate per
package and in total: killed and timed-out mutants over those plus the
survivors. The command fails when the total is below --threshold.

The equivalence list is a Markdown table (docs/mutation-equivalents.md):
| mutant (file:line[:col]) | operator | change (original → mutated, or empty) | reason |
A row that matches no mutant is reported as stale.

First the unmutated tests run once, under --baseline-timeout (not --timeout):
they must pass, and their time sets the default timeout (twice it, plus two
minutes for the build). Run it from the
module root. It takes long: every mutant rebuilds and relinks the test binary
and runs the tests; --jobs runs mutants side by side (tests that mostly wait,
like the scheduler specs, gain most), --max with --seed tests a sample.
docs/testing.md has the scheduler's figures.`,
		Example: `  # the scheduler's decision code against its conformance specs
  clusterkit conformance mutate --packages ./reference/scheduler/... --tests ./reference/scheduler \
      --run TestSchedulerConformance --files 'plugins/|queue|cache' --threshold 90

  # list the mutants only
  clusterkit conformance mutate --packages ./reference/scheduler/plugins --list

  # a sample of 20, two at a time
  clusterkit conformance mutate --packages ./reference/scheduler/plugins --tests ./reference/scheduler \
      --run TestSchedulerConformance --max 20 --seed 7 --jobs 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMutate(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", ".", "the module root")
	f.StringSliceVar(&o.packages, "packages", nil, "package patterns whose non-test Go files are mutated, e.g. ./reference/scheduler/... (required)")
	f.StringSliceVar(&o.tests, "tests", nil, "package patterns whose tests run against each mutant (default: --packages)")
	f.StringVar(&o.run, "run", "", "go test -run regexp selecting the tests (default: every test of --tests)")
	f.StringVar(&o.files, "files", "", "mutate only files whose path (relative to the module root) matches this regexp")
	f.StringVar(&o.funcs, "funcs", "", `mutate only inside functions whose name matches this regexp ("Fit.Filter", "podChanged")`)
	f.StringSliceVar(&o.operators, "operators", nil, "operators to apply (default: all)")
	f.StringVar(&o.equivalents, "equivalents", "docs/mutation-equivalents.md", "Markdown table of equivalent mutants, relative to --dir ('' for none; a missing file is an empty table)")
	f.Float64Var(&o.threshold, "threshold", 0, "fail when the total kill rate (percent) is below this")
	f.BoolVar(&o.list, "list", false, "list the mutants and exit, running nothing")
	f.IntVar(&o.max, "max", 0, "test at most this many mutants, a random sample chosen by --seed (0: all)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the --max sample")
	f.IntVar(&o.jobs, "jobs", 1, "mutants tested side by side")
	f.DurationVar(&o.timeout, "timeout", 0, "bound on one mutant's build and tests (default: twice the unmutated run, plus 2 minutes)")
	f.DurationVar(&o.baseTimeout, "baseline-timeout", 30*time.Minute, "bound on the unmutated run (its own: --timeout does not apply to it)")
	return cmd
}

func runMutate(cmd *cobra.Command, o mutateOptions) error {
	// The tests run in process groups of their own (so a timeout kills them
	// all); an interrupt must cancel them rather than leave them running.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(o.packages) == 0 {
		return errors.New("--packages is required, e.g. --packages ./reference/scheduler/...")
	}
	if len(o.tests) == 0 {
		o.tests = o.packages
	}
	var files, funcs *regexp.Regexp
	var err error
	if o.files != "" {
		if files, err = regexp.Compile(o.files); err != nil {
			return fmt.Errorf("--files: %w", err)
		}
	}
	if o.funcs != "" {
		if funcs, err = regexp.Compile(o.funcs); err != nil {
			return fmt.Errorf("--funcs: %w", err)
		}
	}
	var ops []mutation.Operator
	for _, name := range o.operators {
		op := mutation.Operator(name)
		if !slices.Contains(mutation.Operators(), op) {
			return fmt.Errorf("unknown operator %q: choose from %v", name, mutation.Operators())
		}
		ops = append(ops, op)
	}
	equivalents, err := readEquivalents(o.dir, o.equivalents)
	if err != nil {
		return err
	}
	mutants, err := mutation.Load(ctx, o.dir, o.packages, files, funcs, ops)
	if err != nil {
		return err
	}
	if len(mutants) == 0 {
		return errors.New("no mutants: no file of --packages matches --files and --funcs")
	}
	all := mutants
	if o.max > 0 && o.max < len(mutants) {
		r := rand.New(rand.NewPCG(o.seed, o.seed))
		picked := append([]mutation.Mutant(nil), mutants...)
		r.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
		picked = picked[:o.max]
		sort.SliceStable(picked, func(i, j int) bool {
			if picked[i].File != picked[j].File {
				return picked[i].File < picked[j].File
			}
			return picked[i].Start < picked[j].Start
		})
		mutants = picked
	}
	if o.list {
		for _, m := range mutants {
			eq := ""
			if reason, ok := equivalents.Lookup(m); ok {
				eq = "  (equivalent: " + reason + ")"
			}
			fmt.Fprintf(out, "%s  %s  %s  [%s]%s\n", m.Pos(), m.Operator, m.Change(), m.Func, eq)
		}
		fmt.Fprintf(out, "%d mutants\n", len(mutants))
		for _, e := range equivalents.Stale(all) {
			fmt.Fprintf(out, "stale equivalence row (matches no mutant; update or drop it): %s:%d %s %s %s\n", e.File, e.Line, e.Operator, e.Change, e.Code)
		}
		return nil
	}
	tmp, err := os.MkdirTemp("", "clusterkit-mutate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	runner := &mutation.Runner{Dir: o.dir, Tests: o.tests, Run: o.run, Timeout: o.timeout, BaselineTimeout: o.baseTimeout, TempDir: tmp}
	fmt.Fprintf(errOut, "mutate: %d mutants; running the unmutated tests first (go test -run %q %s)\n", len(mutants), o.run, strings.Join(o.tests, " "))
	base, err := runner.Baseline(ctx)
	if err != nil {
		return fmt.Errorf("mutate: %w", err)
	}
	if runner.Timeout <= 0 {
		runner.Timeout = 2*base + 2*time.Minute
	}
	fmt.Fprintf(errOut, "mutate: the unmutated tests passed in %s; timeout per mutant %s, %d at a time\n", base.Round(time.Second), runner.Timeout, max(o.jobs, 1))
	start := time.Now()
	done := 0
	results := runner.TestAll(ctx, mutants, o.jobs, equivalents.Lookup, func(_ int, res mutation.Result) {
		done++
		fmt.Fprintf(out, "[%d/%d] %s\n", done, len(mutants), resultLine(res))
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	printMutationSummary(out, results, equivalents.Stale(all), time.Since(start))
	_, _, total := mutation.Summary(results)
	if total.Rate() < o.threshold {
		return fmt.Errorf("mutate: kill rate %.1f%% is below the threshold %.1f%%", total.Rate(), o.threshold)
	}
	return nil
}

func readEquivalents(dir, name string) (mutation.Equivalents, error) {
	if name == "" {
		return nil, nil
	}
	path := name
	if !strings.HasPrefix(path, "/") {
		path = dir + "/" + name
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	eq, err := mutation.ReadEquivalents(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return eq, nil
}

func resultLine(r mutation.Result) string {
	s := fmt.Sprintf("%-10s %s  %s  %s", r.Outcome, r.Mutant.Pos(), r.Mutant.Operator, r.Mutant.Change())
	switch {
	case r.Outcome == mutation.Equivalent:
		s += "  (" + r.Detail + ")"
	case r.Detail != "":
		s += fmt.Sprintf("  (%s; %s)", r.Duration.Round(100*time.Millisecond), r.Detail)
	default:
		s += fmt.Sprintf("  (%s)", r.Duration.Round(100*time.Millisecond))
	}
	return s
}

func printMutationSummary(out io.Writer, results []mutation.Result, stale []mutation.EquivalentMutant, took time.Duration) {
	section := func(title string, o mutation.Outcome) {
		var lines []string
		for _, r := range results {
			if r.Outcome == o {
				lines = append(lines, "  "+resultLine(r))
				if o == mutation.Survived && r.Mutant.Code != "" {
					// The line an equivalence row can name (docs/mutation-equivalents.md).
					lines = append(lines, "      code: "+r.Mutant.Code)
				}
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(out, "\n%s (%d):\n%s\n", title, len(lines), strings.Join(lines, "\n"))
		}
	}
	section("Survivors", mutation.Survived)
	section("Not viable", mutation.NotViable)
	section("Equivalent (not counted)", mutation.Equivalent)
	if len(stale) > 0 {
		fmt.Fprintf(out, "\nStale equivalence rows (they match no mutant; update or drop them):\n")
		for _, e := range stale {
			fmt.Fprintf(out, "  %s:%d %s %s %s\n", e.File, e.Line, e.Operator, e.Change, e.Code)
		}
	}
	per, pkgs, total := mutation.Summary(results)
	fmt.Fprintf(out, "\nKill rate per package:\n")
	for _, p := range pkgs {
		fmt.Fprintf(out, "  %s: %s\n", p, per[p])
	}
	fmt.Fprintf(out, "Total: %s in %s\n", total, took.Round(time.Second))
}
