package simruntime

import (
	"context"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Attach: the client gets the output the container's process writes from then on (its
// stdout and stderr, as containerd's attach gives them, no history), until the process
// exits or the client goes. The test image never reads its stdin: what the client sends
// there is read and dropped.

// logLine is one line the process wrote, on stream "stdout" or "stderr".
type logLine struct{ stream, text string }

// attachers are the attached clients of one container.
type attachers struct {
	mu   sync.Mutex
	next int
	subs map[int]chan logLine
}

// publish hands a line to every attached client; one that does not keep up loses it.
func (a *attachers) publish(stream, text string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ch := range a.subs {
		select {
		case ch <- logLine{stream, text}:
		default:
		}
	}
}

func (a *attachers) subscribe() (int, chan logLine) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.subs == nil {
		a.subs = map[int]chan logLine{}
	}
	a.next++
	ch := make(chan logLine, 1024)
	a.subs[a.next] = ch
	return a.next, ch
}

func (a *attachers) unsubscribe(id int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.subs, id)
}

// Attach implements RuntimeService: a one-time URL on the runtime's streaming server where
// the client is attached to the running container's output.
func (r *Runtime) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if !req.Stdin && !req.Stdout && !req.Stderr {
		return nil, status.Error(codes.InvalidArgument, "one of stdin, stdout, or stderr must be set")
	}
	r.mu.Lock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	running := ok && c.state == runtimeapi.ContainerState_CONTAINER_RUNNING
	r.mu.Unlock()
	if !ok {
		return nil, notFound("container", req.ContainerId)
	}
	if !running {
		return nil, status.Errorf(codes.FailedPrecondition, "container %q is not running", c.id)
	}
	url, err := r.stream.prepare(&execSession{containerID: c.id, attach: true, stdin: req.Stdin, stdout: req.Stdout, stderr: req.Stderr && !req.Tty})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &runtimeapi.AttachResponse{Url: url}, nil
}

// runAttach streams the container's output to the client until the process exits (reported
// as success, as an attach ending with its container is) or a write fails.
func (s *streamServer) runAttach(sess *execSession, st streams) {
	s.r.mu.Lock()
	c, ok := s.r.lookupContainerLocked(sess.containerID)
	running := ok && c.state == runtimeapi.ContainerState_CONTAINER_RUNNING
	var id int
	var lines chan logLine
	if running {
		id, lines = c.attached.subscribe()
	}
	s.r.mu.Unlock()
	if !running {
		st.report(0, fmt.Errorf("container %q is not running", sess.containerID))
		return
	}
	defer c.attached.unsubscribe(id)
	if st.stdin != nil {
		go func() { _, _ = io.Copy(io.Discard, st.stdin) }()
	}
	write := func(l logLine) error {
		w := st.stdout
		if l.stream == "stderr" {
			w = st.stderr
			if w == nil && !sess.stderr {
				w = st.stdout // a tty merges the streams
			}
		}
		if w == nil {
			return nil
		}
		_, err := io.WriteString(w, l.text+"\n")
		return err
	}
	for {
		select {
		case l := <-lines:
			if write(l) != nil {
				return
			}
		case <-c.exited:
			for {
				select {
				case l := <-lines:
					if write(l) != nil {
						return
					}
				default:
					st.report(0, nil)
					return
				}
			}
		}
	}
}
