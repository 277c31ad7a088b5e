package simruntime

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// writeLog appends lines to the container's log file in the CRI log format
// ("<RFC3339Nano time> <stream> F <line>"), which the kubelet reads for
// `kubectl logs`. Errors are ignored: a simulated process whose log
// directory vanished keeps running, as a real one would.
func (c *container) writeLog(stream string, lines ...string) {
	if c.logPath == "" || len(lines) == 0 {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		for _, part := range strings.Split(l, "\n") {
			b.WriteString(time.Now().UTC().Format(time.RFC3339Nano))
			b.WriteByte(' ')
			b.WriteString(stream)
			b.WriteString(" F ")
			b.WriteString(part)
			b.WriteByte('\n')
			c.attached.publish(stream, part)
		}
	}
	_ = os.MkdirAll(filepath.Dir(c.logPath), 0o755)
	f, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return
	}
	_, _ = f.WriteString(b.String())
	_ = f.Close()
}

// touchLog creates the log file when the process starts, as a runtime's
// log pipe does, even before the first line.
func (c *container) touchLog() {
	if c.logPath == "" {
		return
	}
	_ = os.MkdirAll(filepath.Dir(c.logPath), 0o755)
	if f, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err == nil {
		_ = f.Close()
	}
}
