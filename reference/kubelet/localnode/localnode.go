package localnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	cri "k8s.io/cri-api/pkg/apis"

	"github.com/clusterkit/clusterkit/cri/client"
	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/reference/kubelet"
)

// Simulated names the in-process simulated runtime in Config.Runtime.
const Simulated = "sim"

// Config describes one node.
type Config struct {
	// Name is the node name.
	Name string
	// Dir holds the node's files (runtime socket, pod logs, static pods
	// unless set); "" makes a temporary directory removed by Close.
	Dir string
	// Runtime is Simulated ("" too) or a CRI endpoint (unix:///… or a
	// socket path) of a running runtime such as containerd.
	Runtime string
	// Sim configures the simulated runtime.
	Sim simruntime.Options
	// Kubelet is the kubelet's configuration; NodeName, Runtime, Images and
	// (when empty) PodLogsDir and RootDir are filled in.
	Kubelet kubelet.Config
	// WrapRuntime, when set, wraps the runtime the kubelet sees (the
	// known-bad kubelets of reference/knownbad use it).
	WrapRuntime func(cri.RuntimeService) cri.RuntimeService
}

// Node is a running node: a runtime and a kubelet that can be stopped and
// started independently of it.
type Node struct {
	cfg     Config
	rest    *rest.Config
	tempDir string
	sockDir string

	runtime cri.RuntimeService
	images  cri.ImageManagerService
	sim     *simruntime.Runtime
	simStop context.CancelFunc
	simDone chan struct{}

	mu          sync.Mutex
	kubelet     *kubelet.Kubelet
	stopKubelet context.CancelFunc
	kubeletDone chan error
}

// Start starts the node's runtime (when simulated) and its kubelet, and
// waits until the kubelet has registered the node.
func Start(ctx context.Context, rc *rest.Config, cfg Config) (*Node, error) {
	if cfg.Name == "" {
		return nil, errors.New("localnode: Name is required")
	}
	n := &Node{cfg: cfg, rest: rc}
	if n.cfg.Dir == "" {
		d, err := os.MkdirTemp("", "ck-node-")
		if err != nil {
			return nil, err
		}
		n.tempDir, n.cfg.Dir = d, d
	}
	if err := os.MkdirAll(n.cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	endpoint := cfg.Runtime
	if endpoint == "" || endpoint == Simulated {
		sim, err := simruntime.New(cfg.Sim)
		if err != nil {
			n.cleanup()
			return nil, err
		}
		sock := filepath.Join(n.cfg.Dir, "cri.sock")
		if len(sock) > 100 { // unix socket paths are limited to 108 bytes
			d, err := os.MkdirTemp("", "ck-sock-")
			if err != nil {
				n.cleanup()
				return nil, err
			}
			n.sockDir, sock = d, filepath.Join(d, "cri.sock")
		}
		_ = os.Remove(sock)
		ln, err := net.Listen("unix", sock)
		if err != nil {
			n.cleanup()
			return nil, fmt.Errorf("localnode: listening on %s: %w", sock, err)
		}
		sctx, stop := context.WithCancel(context.Background())
		n.sim, n.simStop, n.simDone = sim, stop, make(chan struct{})
		go func() {
			defer close(n.simDone)
			_ = sim.Serve(sctx, ln)
		}()
		endpoint = sock
	}
	ep := client.New(endpoint)
	var err error
	if n.runtime, err = ep.Runtime(ctx); err != nil {
		n.Close()
		return nil, err
	}
	if n.images, err = ep.Images(ctx); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.StartKubelet(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Sim is the node's simulated runtime (nil on a real runtime).
func (n *Node) Sim() *simruntime.Runtime { return n.sim }

// Runtime is the CRI runtime client of the node (unwrapped).
func (n *Node) Runtime() cri.RuntimeService { return n.runtime }

// Kubelet is the running kubelet (nil while stopped).
func (n *Node) Kubelet() *kubelet.Kubelet {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.kubelet
}

// StartKubelet starts a new kubelet on the node's runtime and waits until
// it has registered the node and watches its pods.
func (n *Node) StartKubelet(ctx context.Context) error {
	n.mu.Lock()
	if n.kubelet != nil {
		n.mu.Unlock()
		return errors.New("localnode: the kubelet is already running")
	}
	kc := n.cfg.Kubelet
	kc.NodeName = n.cfg.Name
	kc.Runtime, kc.Images = n.runtime, n.images
	if n.cfg.WrapRuntime != nil {
		kc.Runtime = n.cfg.WrapRuntime(n.runtime)
	}
	if kc.PodLogsDir == "" {
		kc.PodLogsDir = filepath.Join(n.cfg.Dir, "pods")
	}
	if kc.RootDir == "" {
		kc.RootDir = filepath.Join(n.cfg.Dir, "kubelet")
	}
	if kc.StaticPodPath == "" {
		kc.StaticPodPath = filepath.Join(n.cfg.Dir, "manifests")
	}
	if err := os.MkdirAll(kc.StaticPodPath, 0o755); err != nil {
		n.mu.Unlock()
		return err
	}
	k, err := kubelet.New(n.rest, kc)
	if err != nil {
		n.mu.Unlock()
		return err
	}
	kctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	n.kubelet, n.stopKubelet, n.kubeletDone = k, stop, done
	n.mu.Unlock()
	go func() { done <- k.Run(kctx) }()
	select {
	case <-k.Ready():
		return nil
	case err := <-done:
		n.mu.Lock()
		n.kubelet = nil
		n.mu.Unlock()
		stop()
		if err == nil {
			err = errors.New("localnode: the kubelet stopped before it was ready")
		}
		return err
	case <-ctx.Done():
		_ = n.StopKubelet()
		return ctx.Err()
	}
}

// StopKubelet stops the kubelet, leaving the runtime and its containers
// running.
func (n *Node) StopKubelet() error {
	n.mu.Lock()
	stop, done := n.stopKubelet, n.kubeletDone
	n.kubelet, n.stopKubelet, n.kubeletDone = nil, nil, nil
	n.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("localnode: the kubelet did not stop within 30s")
	}
}

// Close stops the kubelet and, when simulated, the runtime with every
// container; it removes a temporary Dir.
func (n *Node) Close() {
	_ = n.StopKubelet()
	if n.runtime != nil {
		_ = n.runtime.Close(context.Background())
	}
	if n.images != nil {
		_ = n.images.Close(context.Background())
	}
	if n.simStop != nil {
		n.simStop()
		<-n.simDone
	}
	n.cleanup()
}

func (n *Node) cleanup() {
	if n.tempDir != "" {
		_ = os.RemoveAll(n.tempDir)
	}
	if n.sockDir != "" {
		_ = os.RemoveAll(n.sockDir)
	}
}
