package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

const srcAttach = "Kubernetes: kubectl attach (\"Attach to a process that is already running inside an existing container\"), the pods/attach subresource (PodAttachOptions), upstream e2e kubectl attach specs"

func kubeletAttachSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.attach.output",
			"attaching to a running container through the API (pods/attach), over WebSocket and SPDY, MUST stream what the container's process writes to its stdout from then on",
			srcAttach), specAttachOutput},
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at the same time.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// podAttach attaches to container of pod over protocol ("websocket" or "spdy") with its
// stdout and stderr going to out, until ctx ends or the attach does.
func (e *kubeletEnv) podAttach(ctx context.Context, pod, container, protocol string, stdin io.Reader, out io.Writer) error {
	req := e.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(e.ns).Name(pod).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{Container: container, Stdin: stdin != nil, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	var ex remotecommand.Executor
	var err error
	if protocol == "websocket" {
		ex, err = remotecommand.NewWebSocketExecutor(e.k.Config, "GET", req.URL().String())
	} else {
		ex, err = remotecommand.NewSPDYExecutor(e.k.Config, "POST", req.URL())
	}
	if err != nil {
		return err
	}
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: out, Stderr: out})
}

func specAttachOutput(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("attach", "serve-hostname")
	e.create(ctx, g, p)
	got := e.waitPod(ctx, g, "attach", "Running with an IP", startTimeout, func(p *corev1.Pod) bool { return isRunning(p) && p.Status.PodIP != "" })
	for _, protocol := range []string{"websocket", "spdy"} {
		actx, cancel := context.WithCancel(ctx)
		var out lockedBuffer
		ended := make(chan error, 1)
		go func() { ended <- e.podAttach(actx, "attach", "c", protocol, nil, &out) }()
		msg := "attached-over-" + protocol
		// The test image prints what /log?msg= carries; ask again until the attach, which
		// starts asynchronously, shows it.
		g.Eventually(func() string {
			select {
			case err := <-ended:
				ended <- err
				return fmt.Sprintf("(the attach ended: %v) %s", err, out.String())
			default:
			}
			_, _, _, _ = e.execIn(ctx, "attach", "c", "/ckimage", "fetch", fmt.Sprintf("http://%s:8080/log?msg=%s", got.Status.PodIP, msg))
			return out.String()
		}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(time.Second).Should(gomega.ContainSubstring(msg),
			"the attached %s stream shows what the container's process printed after the attach", protocol)
		cancel()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
		}
	}
}
