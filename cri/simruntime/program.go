package simruntime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// Program is the process of a container whose image is one of Options.Programs: a function of
// the process that runs the runtime. The container is running while the function runs; what it
// writes to stdout and stderr is the container's log, line by line. It ends as a process does:
// returning nil is exit code 0, returning an error writes the error to stderr and is exit code
// 1. StopContainer cancels ctx (the SIGTERM) and waits for the function to return within the
// stop timeout; one that does not is marked killed (exit code 137) though its goroutine cannot
// be, so a Program must return soon after ctx is done. args are the container's command and
// arguments as the runtime resolved them.
type Program func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// programRun is a running Program: cancel is its SIGTERM.
type programRun struct {
	cancel context.CancelFunc
}

// startProgramLocked starts c's Program; when it returns, the container exits with its code.
func (r *Runtime) startProgramLocked(c *container, p Program) {
	ctx, cancel := context.WithCancel(context.Background())
	c.program = &programRun{cancel: cancel}
	id, args := c.id, append([]string(nil), c.argv...)
	stdout, stderr := &logWriter{c: c, stream: "stdout"}, &logWriter{c: c, stream: "stderr"}
	go func() {
		err := p(ctx, args, stdout, stderr)
		stdout.flush()
		stderr.flush()
		code := 0
		if err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
			_, _ = io.WriteString(stderr, err.Error()+"\n")
			code = 1
		}
		cancel()
		r.processExit(id, code)
	}()
}

// logWriter writes a Program's output to its container's log, a line at a time.
type logWriter struct {
	c      *container
	stream string
	mu     sync.Mutex
	buf    bytes.Buffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf.Next(i + 1))
		w.c.writeLog(w.stream, line[:len(line)-1])
	}
}

// flush writes what is left after the last newline.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.c.writeLog(w.stream, w.buf.String())
		w.buf.Reset()
	}
}

// programFor is the Program of the image img, if it is one of Options.Programs.
func (r *Runtime) programFor(img *image) Program {
	return r.programs[img.id]
}

// killAfter waits until the container id has exited (its Program returned after SIGTERM), else
// kills it when timeout ends or the caller gives up, as containerd would.
func (r *Runtime) killAfter(ctx context.Context, id string, exited <-chan struct{}, timeout time.Duration) (*runtimeapi.StopContainerResponse, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-exited:
		return &runtimeapi.StopContainerResponse{}, nil
	case <-ctx.Done():
	case <-t.C:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok {
		r.exitLocked(c, behavior.KilledExitCode, "", false)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}
