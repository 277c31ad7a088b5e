package mutation

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Operator names one kind of mutation.
type Operator string

// The operator set.
const (
	// ComparisonBoundary moves a comparison's boundary: < ↔ <=, > ↔ >=.
	ComparisonBoundary Operator = "comparison-boundary"
	// ComparisonNegation negates a comparison: == ↔ !=, < ↔ >=, > ↔ <=.
	ComparisonNegation Operator = "comparison-negation"
	// LogicalSwap swaps && and ||.
	LogicalSwap Operator = "logical-swap"
	// NotDropped drops a boolean negation: !x becomes x.
	NotDropped Operator = "not-dropped"
	// IntIncrement adds one to an integer literal.
	IntIncrement Operator = "int-increment"
	// IntDecrement subtracts one from an integer literal.
	IntDecrement Operator = "int-decrement"
	// ReturnBoolSwap swaps a returned true or false.
	ReturnBoolSwap Operator = "return-bool-swap"
	// IfTrue forces an if statement's condition to true.
	IfTrue Operator = "if-true"
	// IfFalse forces an if statement's condition to false.
	IfFalse Operator = "if-false"
	// BranchRemoved removes an unlabelled break or continue.
	BranchRemoved Operator = "branch-removed"
)

// Operators is every operator, in the order they are documented.
func Operators() []Operator {
	return []Operator{ComparisonBoundary, ComparisonNegation, LogicalSwap, NotDropped, IntIncrement, IntDecrement, ReturnBoolSwap, IfTrue, IfFalse, BranchRemoved}
}

// Mutant is one small change to one file: the bytes [Start, End) of the
// file, Original, replaced by Mutated.
type Mutant struct {
	// Package is the import path of the file's package.
	Package string
	// File is the file's path as reported (relative to the module root when
	// loaded through Load); Path is where it is on disk.
	File string
	Path string
	// Func is the function or method holding the change ("Fit.Filter",
	// "podChanged"; "" outside functions).
	Func string
	// Line and Col locate the change (1-based, Col in bytes).
	Line, Col int
	Operator  Operator
	// Original is the replaced source text, Mutated its replacement.
	Original, Mutated string
	// Start and End are the byte offsets of Original in the file.
	Start, End int
	// Code is the source line the change starts on, trimmed: what an equivalence row can name
	// instead of a line number, so that it outlives edits elsewhere in the file.
	Code string
}

// Pos is the mutant's file:line:col.
func (m Mutant) Pos() string { return fmt.Sprintf("%s:%d:%d", m.File, m.Line, m.Col) }

// Change is "original → mutated", each side shortened to one line.
func (m Mutant) Change() string { return short(m.Original) + " → " + short(m.Mutated) }

func (m Mutant) String() string { return m.Pos() + " " + string(m.Operator) + " " + m.Change() }

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// Apply returns src with the mutant's change made. src must be the file the
// mutant was enumerated from.
func (m Mutant) Apply(src []byte) ([]byte, error) {
	if m.Start < 0 || m.End > len(src) || m.Start > m.End || string(src[m.Start:m.End]) != m.Original {
		return nil, fmt.Errorf("mutant %s does not apply: the file changed since it was enumerated", m)
	}
	out := make([]byte, 0, len(src)+len(m.Mutated))
	out = append(out, src[:m.Start]...)
	out = append(out, m.Mutated...)
	return append(out, src[m.End:]...), nil
}

// Enumerate returns every mutant of one Go source file, in source order.
// file names it in the results; ops selects operators (nil: all).
func Enumerate(file string, src []byte, ops []Operator) ([]Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", file, err)
	}
	want := map[Operator]bool{}
	for _, o := range ops {
		want[o] = true
	}
	e := &enumerator{fset: fset, src: src, file: file, want: want}
	ast.Walk(e, f)
	sort.SliceStable(e.out, func(i, j int) bool { return e.out[i].Start < e.out[j].Start })
	return e.out, nil
}

type enumerator struct {
	fset *token.FileSet
	src  []byte
	file string
	want map[Operator]bool
	out  []Mutant
	// stack holds the enclosing nodes of the node visited.
	stack []ast.Node
}

func (e *enumerator) add(op Operator, from, to token.Pos, mutated string) {
	if len(e.want) > 0 && !e.want[op] {
		return
	}
	start, end := e.fset.Position(from), e.fset.Position(to)
	e.out = append(e.out, Mutant{
		File: e.file, Path: e.file, Func: e.funcName(), Line: start.Line, Col: start.Column, Operator: op,
		Original: string(e.src[start.Offset:end.Offset]), Mutated: mutated,
		Start: start.Offset, End: end.Offset, Code: lineAt(e.src, start.Offset),
	})
}

// lineAt returns the trimmed line of src holding offset.
func lineAt(src []byte, offset int) string {
	from := bytes.LastIndexByte(src[:offset], '\n') + 1
	to := len(src)
	if i := bytes.IndexByte(src[offset:], '\n'); i >= 0 {
		to = offset + i
	}
	return strings.TrimSpace(string(src[from:to]))
}

// funcName names the function declaration enclosing the node visited.
func (e *enumerator) funcName() string {
	for _, n := range e.stack {
		fd, ok := n.(*ast.FuncDecl)
		if !ok {
			continue
		}
		if fd.Recv == nil || len(fd.Recv.List) == 0 {
			return fd.Name.Name
		}
		t := fd.Recv.List[0].Type
		for {
			switch x := t.(type) {
			case *ast.StarExpr:
				t = x.X
				continue
			case *ast.IndexExpr:
				t = x.X
				continue
			case *ast.IndexListExpr:
				t = x.X
				continue
			}
			break
		}
		if id, ok := t.(*ast.Ident); ok {
			return id.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
	return ""
}

func (e *enumerator) text(n ast.Node) string {
	return string(e.src[e.fset.Position(n.Pos()).Offset:e.fset.Position(n.End()).Offset])
}

// Visit implements ast.Visitor; it keeps the stack of enclosing nodes.
func (e *enumerator) Visit(n ast.Node) ast.Visitor {
	if n == nil {
		e.stack = e.stack[:len(e.stack)-1]
		return nil
	}
	switch x := n.(type) {
	case *ast.GenDecl:
		if x.Tok == token.IMPORT {
			return nil
		}
	case *ast.BinaryExpr:
		e.binary(x)
	case *ast.UnaryExpr:
		if x.Op == token.NOT {
			e.add(NotDropped, x.OpPos, x.X.Pos(), "")
		}
	case *ast.BasicLit:
		e.intLit(x)
	case *ast.ReturnStmt:
		for _, r := range x.Results {
			if id, ok := r.(*ast.Ident); ok && (id.Name == "true" || id.Name == "false") {
				e.add(ReturnBoolSwap, id.Pos(), id.End(), map[string]string{"true": "false", "false": "true"}[id.Name])
			}
		}
	case *ast.IfStmt:
		if c := e.text(x.Cond); c != "true" {
			e.add(IfTrue, x.Cond.Pos(), x.Cond.End(), "true")
		}
		if c := e.text(x.Cond); c != "false" {
			e.add(IfFalse, x.Cond.Pos(), x.Cond.End(), "false")
		}
	case *ast.BranchStmt:
		if x.Label == nil && (x.Tok == token.BREAK || x.Tok == token.CONTINUE) && e.branchRemovable(x) {
			// An empty block keeps the statement list valid.
			e.add(BranchRemoved, x.Pos(), x.End(), "{}")
		}
	}
	e.stack = append(e.stack, n)
	return e
}

var (
	boundary = map[token.Token]token.Token{token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR}
	negation = map[token.Token]token.Token{token.EQL: token.NEQ, token.NEQ: token.EQL, token.LSS: token.GEQ, token.GEQ: token.LSS, token.GTR: token.LEQ, token.LEQ: token.GTR}
)

func (e *enumerator) binary(x *ast.BinaryExpr) {
	end := x.OpPos + token.Pos(len(x.Op.String()))
	if b, ok := boundary[x.Op]; ok {
		e.add(ComparisonBoundary, x.OpPos, end, b.String())
	}
	if n, ok := negation[x.Op]; ok {
		e.add(ComparisonNegation, x.OpPos, end, n.String())
	}
	switch x.Op {
	case token.LAND:
		e.add(LogicalSwap, x.OpPos, end, "||")
	case token.LOR:
		e.add(LogicalSwap, x.OpPos, end, "&&")
	}
}

// intLit adds the ±1 mutants of an integer literal, except where the value
// cannot change behaviour (a capacity hint of make) or the literal is part
// of a type (an array length).
func (e *enumerator) intLit(x *ast.BasicLit) {
	if x.Kind != token.INT || len(e.stack) == 0 {
		return
	}
	switch p := e.stack[len(e.stack)-1].(type) {
	case *ast.CallExpr:
		if id, ok := p.Fun.(*ast.Ident); ok && id.Name == "make" {
			return
		}
	case *ast.ArrayType:
		return
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(x.Value, "_", ""), 0, 64)
	if err != nil {
		return
	}
	e.add(IntIncrement, x.Pos(), x.End(), strconv.FormatInt(v+1, 10))
	if v > 0 {
		e.add(IntDecrement, x.Pos(), x.End(), strconv.FormatInt(v-1, 10))
	}
}

// branchRemovable reports whether removing the break or continue cannot
// turn its loop into one that never ends by itself: it is inside a for with
// a condition or a range loop (a break in a switch or select ends only that
// statement and is removable too, unless that is inside a bare for).
func (e *enumerator) branchRemovable(x *ast.BranchStmt) bool {
	for i := len(e.stack) - 1; i >= 0; i-- {
		switch s := e.stack[i].(type) {
		case *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
			if x.Tok == token.BREAK {
				return true
			}
		case *ast.RangeStmt:
			return true
		case *ast.ForStmt:
			return s.Cond != nil
		case *ast.FuncLit, *ast.FuncDecl:
			return false
		}
	}
	return false
}
