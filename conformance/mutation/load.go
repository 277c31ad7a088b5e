package mutation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

// listedPackage is what Load reads of go list -json.
type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
}

// Load enumerates the mutants of the non-test Go files of the packages the
// patterns name (as go list sees them from dir, the module root), keeping
// the files whose path relative to dir matches files (nil: every file).
// Mutant.File is that relative path. funcs, when not nil, keeps only the
// mutants inside functions whose name (Mutant.Func) it matches.
func Load(ctx context.Context, dir string, patterns []string, files, funcs *regexp.Regexp, ops []Operator) ([]Mutant, error) {
	args := append([]string{"list", "-json=ImportPath,Dir,GoFiles", "--"}, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %v: %w: %s", patterns, err, bytes.TrimSpace(stderr.Bytes()))
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var all []Mutant
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			rel, err := filepath.Rel(absDir, path)
			if err != nil {
				rel = path
			}
			rel = filepath.ToSlash(rel)
			if files != nil && !files.MatchString(rel) {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			ms, err := Enumerate(rel, src, ops)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				if funcs != nil && !funcs.MatchString(m.Func) {
					continue
				}
				m.Package = p.ImportPath
				m.Path = path
				all = append(all, m)
			}
		}
	}
	return all, nil
}
