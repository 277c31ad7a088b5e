package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/reporters"
	ginkgotypes "github.com/onsi/ginkgo/v2/types"
)

// The files WriteDir writes.
const (
	JUnitFile = "junit.xml"
	LogFile   = "e2e.log"
	JSONFile  = "results.json"
	HTMLFile  = "report.html"
)

// WriteDir writes the four report files of a run into dir, creating it: junit.xml from g, and
// e2e.log, results.json and report.html from r.
func WriteDir(dir string, g ginkgotypes.Report, r Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	if err := reporters.GenerateJUnitReport(g, filepath.Join(dir, JUnitFile)); err != nil {
		return fmt.Errorf("writing %s: %w", JUnitFile, err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{LogFile, r.WriteLog},
		{JSONFile, r.WriteJSON},
		{HTMLFile, r.WriteHTML},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}
