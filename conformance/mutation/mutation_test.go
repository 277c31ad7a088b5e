package mutation

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const sample = `package sample

func Fits(free, want int, ok bool) bool {
	if want > free && !ok {
		return false
	}
	for i := 0; i < 3; i++ {
		if i == 1 {
			continue
		}
	}
	for {
		break
	}
	return true
}
`

func TestEnumerate(t *testing.T) {
	ms, err := Enumerate("sample.go", []byte(sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.String())
	}
	want := []string{
		"sample.go:4:5 if-true want > free && !ok → true",
		"sample.go:4:5 if-false want > free && !ok → false",
		"sample.go:4:10 comparison-boundary > → >=",
		"sample.go:4:10 comparison-negation > → <=",
		"sample.go:4:17 logical-swap && → ||",
		"sample.go:4:20 not-dropped ! → ",
		"sample.go:5:10 return-bool-swap false → true",
		"sample.go:7:11 int-increment 0 → 1",
		"sample.go:7:16 comparison-boundary < → <=",
		"sample.go:7:16 comparison-negation < → >=",
		"sample.go:7:18 int-increment 3 → 4",
		"sample.go:7:18 int-decrement 3 → 2",
		"sample.go:8:6 if-true i == 1 → true",
		"sample.go:8:6 if-false i == 1 → false",
		"sample.go:8:8 comparison-negation == → !=",
		"sample.go:8:11 int-increment 1 → 2",
		"sample.go:8:11 int-decrement 1 → 0",
		"sample.go:9:4 branch-removed continue → {}",
		// The break of the bare for is not removed: the loop would never end.
		"sample.go:15:9 return-bool-swap true → false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("mutants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ms[0].Code != "if want > free && !ok {" || ms[len(ms)-1].Code != "return true" {
		t.Errorf("Code of the first and last mutants: %q, %q", ms[0].Code, ms[len(ms)-1].Code)
	}
	for _, m := range ms {
		if m.Func != "Fits" {
			t.Errorf("%s: Func %q, want Fits", m, m.Func)
		}
	}
}

// TestEveryMutantParses applies each mutant and checks the result is still
// Go that parses and differs from the original.
func TestEveryMutantParses(t *testing.T) {
	ms, err := Enumerate("sample.go", []byte(sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		out, err := m.Apply([]byte(sample))
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if string(out) == sample {
			t.Errorf("%s changes nothing", m)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "m.go", out, 0); err != nil {
			t.Errorf("%s does not parse: %v", m, err)
		}
	}
}

func TestEnumerateOperatorsAndSkips(t *testing.T) {
	src := `package s

type T struct{}

func (t *T) M(xs []int) int {
	a := make([]int, 0, 8)
	var b [4]int
	_ = b
	return len(append(a, xs...)) + 2
}
`
	ms, err := Enumerate("s.go", []byte(src), []Operator{IntIncrement})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Original != "2" || ms[0].Func != "T.M" {
		t.Errorf("want only the 2 of the return mutated (make's sizes and array lengths skipped), in T.M; got %v", ms)
	}
}

func TestApplyRefusesAChangedFile(t *testing.T) {
	m := Mutant{File: "f.go", Start: 0, End: 2, Original: "ab", Mutated: "c"}
	if _, err := m.Apply([]byte("xy")); err == nil {
		t.Error("Apply on a file that no longer holds the original succeeded")
	}
	out, err := m.Apply([]byte("abd"))
	if err != nil || string(out) != "cd" {
		t.Errorf("Apply = %q, %v; want cd", out, err)
	}
}

func TestReadEquivalents(t *testing.T) {
	md := "# Equivalent mutants\n\n" +
		"| mutant | operator | change | reason |\n|---|---|---|---|\n" +
		"| `a/b.go:12` | comparison-boundary | `< → <=` | equal values give the same result |\n" +
		"| `a/b.go:20:3` | if-true |  | the guard is an optimisation \\| nothing else |\n"
	eq, err := ReadEquivalents(strings.NewReader(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(eq) != 2 {
		t.Fatalf("rows: %+v", eq)
	}
	m1 := Mutant{File: "a/b.go", Line: 12, Col: 7, Operator: ComparisonBoundary, Original: "<", Mutated: "<="}
	if r, ok := eq.Lookup(m1); !ok || r != "equal values give the same result" {
		t.Errorf("Lookup(m1) = %q, %v", r, ok)
	}
	m2 := m1
	m2.Mutated = ">="
	m2.Operator = ComparisonNegation
	if _, ok := eq.Lookup(m2); ok {
		t.Error("another operator on the same line matched")
	}
	m3 := Mutant{File: "a/b.go", Line: 20, Col: 3, Operator: IfTrue, Original: "x", Mutated: "true"}
	if r, ok := eq.Lookup(m3); !ok || r != "the guard is an optimisation | nothing else" {
		t.Errorf("Lookup(m3) = %q, %v", r, ok)
	}
	if stale := eq.Stale([]Mutant{m1}); len(stale) != 1 || stale[0].Line != 20 {
		t.Errorf("Stale = %+v, want the row of line 20", stale)
	}
	coded, err := ReadEquivalents(strings.NewReader("| `a/b.go:12` | comparison-boundary | `< → <=` | names are unique | `return a.Name < b.Name \\|\\| x` |\n"))
	if err != nil || len(coded) != 1 || coded[0].Code != "return a.Name < b.Name || x" {
		t.Fatalf("a row with code: %+v, %v", coded, err)
	}
	moved := m1
	moved.Line, moved.Col, moved.Code = 40, 9, "return a.Name < b.Name || x"
	if _, ok := coded.Lookup(moved); !ok {
		t.Error("a row naming the mutant's code did not match it on another line")
	}
	other := moved
	other.Code = "return a.Name < c.Name"
	if _, ok := coded.Lookup(other); ok {
		t.Error("a row naming code matched a mutant on another line of code")
	}
	if _, ok := coded.Lookup(m1); ok {
		t.Error("a row naming code matched by its line number alone")
	}
	if _, err := ReadEquivalents(strings.NewReader("| `a.go:1` | no-such-op | | r |\n")); err == nil {
		t.Error("an unknown operator was accepted")
	}
	if _, err := ReadEquivalents(strings.NewReader("| `a.go:1` | if-true | | |\n")); err == nil {
		t.Error("a row without a reason was accepted")
	}
}

func TestTally(t *testing.T) {
	var tl Tally
	for _, o := range []Outcome{Killed, Killed, TimedOut, Survived, NotViable, Equivalent} {
		tl.Add(o)
	}
	if tl.Counted() != 4 || tl.Rate() != 75 {
		t.Errorf("tally %+v: counted %d rate %.1f, want 4 and 75", tl, tl.Counted(), tl.Rate())
	}
	if (Tally{}).Rate() != 100 {
		t.Error("an empty tally must rate 100")
	}
}

// TestRunnerClassifies runs go test on a throwaway module with one mutant
// of each outcome: killed, survived, not viable, timed out.
func TestRunnerClassifies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a throwaway module (-short)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.22\n")
	src := `package m

import "time"

// Max returns the larger.
func Max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Wait waits n milliseconds.
func Wait(n int) {
	for i := 0; i < n; i++ {
		time.Sleep(time.Millisecond)
	}
}

const limit = 10

var unused = limit
`
	write("m.go", src)
	write("m_test.go", `package m

import "testing"

func TestMax(t *testing.T) {
	if Max(1, 2) != 2 || Max(2, 1) != 2 {
		t.Fatal("Max")
	}
	Wait(1)
}
`)
	ms, err := Load(context.Background(), dir, []string{"./..."}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	find := func(line int, op Operator) Mutant {
		t.Helper()
		for _, m := range ms {
			if m.Line == line && m.Operator == op {
				return m
			}
		}
		t.Fatalf("no %s mutant on line %d in %v", op, line, ms)
		return Mutant{}
	}
	r := &Runner{Dir: dir, Tests: []string{"./..."}, Timeout: 2 * time.Minute}
	if _, err := r.Baseline(context.Background()); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	for _, c := range []struct {
		m    Mutant
		want Outcome
	}{
		{find(7, ComparisonNegation), Killed},    // a <= b: Max(2, 1) is 1
		{find(7, ComparisonBoundary), Survived},  // a >= b: equal values, the same result
		{find(15, ComparisonNegation), Survived}, // i >= n: Wait does nothing, unseen
	} {
		res := r.Test(context.Background(), c.m)
		if res.Outcome != c.want {
			t.Errorf("%s: %s (%s), want %s", c.m, res.Outcome, res.Detail, c.want)
		}
		if c.want == Killed && res.Detail != "TestMax" {
			t.Errorf("%s: detail %q, want the failing test TestMax", c.m, res.Detail)
		}
	}
	// Not viable: a mutant that does not build (hand-made: the operators
	// keep the syntax valid, not the types).
	bad := find(7, IfTrue)
	bad.Mutated = `"yes"`
	if res := r.Test(context.Background(), bad); res.Outcome != NotViable {
		t.Errorf("a mutant that does not build: %s (%s), want %s", res.Outcome, res.Detail, NotViable)
	}
	// Timeout: a loop of Wait that runs 100001 times, a millisecond each.
	slow := find(15, IntIncrement)
	slow.Mutated = "-100000"
	r.Timeout = 20 * time.Second
	if res := r.Test(context.Background(), slow); res.Outcome != TimedOut {
		t.Errorf("a mutant that hangs: %s (%s), want %s", res.Outcome, res.Detail, TimedOut)
	}
	// The baseline has a bound of its own: a per-mutant timeout far too
	// short for any build does not fail it.
	r.Timeout = time.Nanosecond
	if _, err := r.Baseline(context.Background()); err != nil {
		t.Errorf("baseline under a 1ns per-mutant timeout: %v", err)
	}
	// The tree was never touched.
	if got := mustRead(t, filepath.Join(dir, "m.go")); got != src {
		t.Error("the runner changed the file on disk")
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
