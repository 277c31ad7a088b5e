package mutation

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// EquivalentMutant is a mutant no test can tell from the original, with
// the reason: one row of the equivalence table.
type EquivalentMutant struct {
	// File, Line and (optionally, 0 for any) Col locate it.
	File      string
	Line, Col int
	Operator  Operator
	// Change, when not empty, must equal Mutant.Change().
	Change string
	Reason string
	// Code, when not empty, is the trimmed source line of the mutant (Mutant.Code): the row then
	// names the mutant wherever that line is in the file (at Col, when not 0), and Line only
	// documents where it was.
	Code string
}

// Matches reports whether the row names the mutant.
func (e EquivalentMutant) Matches(m Mutant) bool {
	if e.File != m.File || e.Operator != m.Operator || (e.Change != "" && e.Change != m.Change()) {
		return false
	}
	if e.Col != 0 && e.Col != m.Col {
		return false
	}
	if e.Code != "" {
		return e.Code == m.Code
	}
	return e.Line == m.Line
}

// Equivalents is the equivalence table.
type Equivalents []EquivalentMutant

// Lookup returns the reason a mutant is equivalent.
func (es Equivalents) Lookup(m Mutant) (string, bool) {
	for _, e := range es {
		if e.Matches(m) {
			return e.Reason, true
		}
	}
	return "", false
}

// Stale returns the rows of the mutants' files that match none of the mutants: the code moved
// or changed, and the row must be updated or dropped. Rows of other files are not judged.
func (es Equivalents) Stale(ms []Mutant) []EquivalentMutant {
	files := map[string]bool{}
	for _, m := range ms {
		files[m.File] = true
	}
	var out []EquivalentMutant
	for _, e := range es {
		if !files[e.File] {
			continue
		}
		found := false
		for _, m := range ms {
			if e.Matches(m) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, e)
		}
	}
	return out
}

// ReadEquivalents reads the equivalence table from Markdown: every table
// row whose first cell is FILE:LINE[:COL] (backquotes allowed), followed by
// the operator, the change ("original → mutated", or empty for any), the
// reason and, optionally, the mutant's source line (Mutant.Code; a bar
// written \|), which then locates it instead of the line number. Other lines,
// header and separator rows are ignored.
func ReadEquivalents(r io.Reader) (Equivalents, error) {
	var out Equivalents
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := splitRow(line)
		if len(cells) < 4 {
			continue
		}
		file, ln, col, ok := parsePos(cells[0])
		if !ok {
			continue // the header, the separator, or another table
		}
		op := Operator(cells[1])
		if !knownOperator(op) {
			return nil, fmt.Errorf("line %d: unknown operator %q", n, cells[1])
		}
		if cells[3] == "" {
			return nil, fmt.Errorf("line %d: an equivalent mutant needs a reason", n)
		}
		row := EquivalentMutant{File: file, Line: ln, Col: col, Operator: op, Change: cells[2], Reason: cells[3]}
		if len(cells) > 4 {
			row.Code = cells[4]
		}
		out = append(out, row)
	}
	return out, sc.Err()
}

func knownOperator(op Operator) bool {
	for _, o := range Operators() {
		if o == op {
			return true
		}
	}
	return false
}

// splitRow splits a Markdown table row into trimmed cells without
// backquotes; \| is a literal bar.
func splitRow(line string) []string {
	line = strings.ReplaceAll(line, `\|`, "\x00")
	parts := strings.Split(strings.Trim(line, "|"), "|")
	out := make([]string, len(parts))
	for i, p := range parts {
		p = strings.ReplaceAll(p, "\x00", "|")
		out[i] = strings.TrimSpace(strings.ReplaceAll(p, "`", ""))
	}
	return out
}

func parsePos(s string) (file string, line, col int, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return "", 0, 0, false
	}
	line, err := strconv.Atoi(parts[1])
	if err != nil || line <= 0 {
		return "", 0, 0, false
	}
	if len(parts) == 3 {
		if col, err = strconv.Atoi(parts[2]); err != nil || col <= 0 {
			return "", 0, 0, false
		}
	}
	return parts[0], line, col, true
}

// Tally counts a set of results.
type Tally struct {
	Killed, TimedOut, Survived, NotViable, Equivalent int
}

// Add counts one result.
func (t *Tally) Add(o Outcome) {
	switch o {
	case Killed:
		t.Killed++
	case TimedOut:
		t.TimedOut++
	case Survived:
		t.Survived++
	case NotViable:
		t.NotViable++
	case Equivalent:
		t.Equivalent++
	}
}

// Counted is the mutants in the kill rate: killed, timed out, survived.
func (t Tally) Counted() int { return t.Killed + t.TimedOut + t.Survived }

// Rate is the kill rate in percent: killed and timed-out mutants over
// those plus the survivors (100 when nothing counts).
func (t Tally) Rate() float64 {
	if t.Counted() == 0 {
		return 100
	}
	return 100 * float64(t.Killed+t.TimedOut) / float64(t.Counted())
}

func (t Tally) String() string {
	return fmt.Sprintf("%.1f%% killed (%d of %d; %d killed, %d timed out, %d survived; %d not viable, %d equivalent, not counted)",
		t.Rate(), t.Killed+t.TimedOut, t.Counted(), t.Killed, t.TimedOut, t.Survived, t.NotViable, t.Equivalent)
}

// Summary tallies results per package and in total; packages are sorted.
func Summary(results []Result) (perPackage map[string]Tally, packages []string, total Tally) {
	perPackage = map[string]Tally{}
	for _, r := range results {
		if r.Outcome == "" {
			continue // not run (cancelled)
		}
		t := perPackage[r.Mutant.Package]
		t.Add(r.Outcome)
		perPackage[r.Mutant.Package] = t
		total.Add(r.Outcome)
	}
	for p := range perPackage {
		packages = append(packages, p)
	}
	sort.Strings(packages)
	return perPackage, packages, total
}
