package simruntime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// RuntimeName is what Version answers as RuntimeName.
const RuntimeName = "clusterkit-sim"

// RuntimeVersion is what Version answers as RuntimeVersion.
const RuntimeVersion = "0.1.0"

// ImageFailure configures how operations on one image fail.
type ImageFailure string

const (
	// PullNotFound: PullImage fails with NotFound ("not found" in the
	// registry), which the kubelet reports as ErrImagePull.
	PullNotFound ImageFailure = "PullNotFound"
	// PullError: PullImage fails with Unavailable (registry error).
	PullError ImageFailure = "PullError"
	// StartError: the image pulls, but StartContainer fails and the
	// container ends EXITED with exit code 128 and reason "StartError".
	StartError ImageFailure = "StartError"
)

// Options configure a simulated runtime. The zero value works.
type Options struct {
	// PodSubnet is where pod sandbox IPs come from. It must lie in
	// 127.0.0.0/8: the simulator really listens on a pod's IP for the HTTP
	// behaviours of the test image, so probes and clients reach pods as on
	// a real runtime. Default 127.64.0.0/20; give each simulated node its
	// own (see NodeSubnet). Unused (and not checked) with PodNetwork.
	PodSubnet netip.Prefix
	// PodNetwork, when set, gives every sandbox that does not use the host
	// network a network namespace of its own instead of a loopback IP: its
	// IP comes from the namespace, its containers listen inside it (hostPort
	// mappings still listen on the host), and its exec commands connect from
	// inside it. The namespace is removed by RemovePodSandbox and Close.
	PodNetwork PodNetwork
	// HostIP is the address host-network sandboxes get (default 127.0.0.1).
	HostIP string
	// SandboxLatency is added to every RunPodSandbox, StartLatency to every
	// StartContainer, PullLatency to every PullImage.
	SandboxLatency time.Duration
	StartLatency   time.Duration
	PullLatency    time.Duration
	// ImageFailures makes operations on the named images fail. Keys are
	// image references (normalised: "busybox" means
	// "docker.io/library/busybox:latest") or repositories without tag.
	ImageFailures map[string]ImageFailure
	// Images are present before any pull, in addition to the test image
	// and the pause image, which always are.
	Images []string
	// ContainerMemory is the working-set size ContainerStats reports for a
	// running container (default 4 MiB).
	ContainerMemory uint64
	// ContainerNanoCores is the CPU a running container uses, in billionths of a core
	// (default 1,000,000: one millicore); its cumulative usage grows by it every second.
	ContainerNanoCores uint64
	// Programs are images whose containers run a Go function of this process instead of a
	// simulated process (see Program), keyed by image reference (normalised as Images'). They
	// are present before any pull. `clusterkit up` runs its in-process control plane
	// components as static pods this way.
	Programs map[string]Program
}

// NodeSubnet returns the i-th /20 of 127.64.0.0/10 (4094 pod IPs each, up
// to 1024 nodes): distinct pod subnets for simulated nodes in one process.
func NodeSubnet(i int) netip.Prefix {
	base := uint32(127)<<24 | uint32(64)<<16
	a := base + uint32(i%1024)<<12
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 20)
}

// Runtime is a simulated CRI runtime: RuntimeService and ImageService over
// real gRPC, whose containers behave like processes of the test image.
type Runtime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	opts   Options
	hostIP string
	// programs are Options.Programs by image ID.
	programs map[string]Program

	mu         sync.Mutex
	sandboxes  map[string]*sandbox
	containers map[string]*container
	images     map[string]*image // by ID
	refs       map[string]string // normalised ref -> image ID
	// usedIPs holds, per pod IP in use, the listener that claims it
	// across processes (see ipClaimPort).
	usedIPs map[netip.Addr]net.Listener
	nextIP  netip.Addr
	podCIDR string
	closed  bool
	stream  *streamServer
	// subscribers are the open GetContainerEvents streams (events.go).
	subscribers map[chan *runtimeapi.ContainerEventResponse]struct{}
}

// New builds a runtime; nothing listens until Serve.
func New(opts Options) (*Runtime, error) {
	if !opts.PodSubnet.IsValid() {
		opts.PodSubnet = NodeSubnet(0)
	}
	opts.PodSubnet = opts.PodSubnet.Masked()
	if opts.PodNetwork == nil && (!opts.PodSubnet.Addr().Is4() || opts.PodSubnet.Addr().As4()[0] != 127 || opts.PodSubnet.Bits() < 8 || opts.PodSubnet.Bits() > 30) {
		return nil, fmt.Errorf("pod subnet %s must be an IPv4 prefix inside 127.0.0.0/8 with room for pods", opts.PodSubnet)
	}
	hostIP := opts.HostIP
	if hostIP == "" {
		hostIP = "127.0.0.1"
	}
	if opts.ContainerMemory == 0 {
		opts.ContainerMemory = 4 << 20
	}
	if opts.ContainerNanoCores == 0 {
		opts.ContainerNanoCores = 1_000_000
	}
	r := &Runtime{
		opts:       opts,
		hostIP:     hostIP,
		sandboxes:  map[string]*sandbox{},
		containers: map[string]*container{},
		images:     map[string]*image{},
		refs:       map[string]string{},
		usedIPs:    map[netip.Addr]net.Listener{},
		nextIP:     opts.PodSubnet.Addr().Next(),
	}
	r.stream = newStreamServer(r)
	for _, ref := range append([]string{behavior.TestImage, behavior.PauseImage}, opts.Images...) {
		r.addImageLocked(ref)
	}
	for ref, p := range opts.Programs {
		if r.programs == nil {
			r.programs = map[string]Program{}
		}
		r.programs[r.addImageLocked(ref).id] = p
	}
	return r, nil
}

// Register adds the runtime's RuntimeService and ImageService to s.
func (r *Runtime) Register(s *grpc.Server) {
	runtimeapi.RegisterRuntimeServiceServer(s, r)
	runtimeapi.RegisterImageServiceServer(s, r)
}

// Serve answers CRI on ln (typically a unix socket) until ctx is done, then
// stops every simulated container and returns nil. It also starts the
// streaming server for Exec on a loopback port.
func (r *Runtime) Serve(ctx context.Context, ln net.Listener) error {
	s := grpc.NewServer(grpc.MaxRecvMsgSize(16<<20), grpc.MaxSendMsgSize(16<<20))
	r.Register(s)
	if err := r.stream.start(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case <-ctx.Done():
		// Event streams never end by themselves: end them so that GracefulStop does not wait.
		r.mu.Lock()
		r.endEventsLocked()
		r.mu.Unlock()
		stopped := make(chan struct{})
		go func() { s.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			s.Stop()
		}
		r.Close()
		return nil
	case err := <-errc:
		r.Close()
		if errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("serve CRI: %w", err)
	}
}

// Close stops every simulated container (closing their listeners), removes
// the sandboxes' networks (with Options.PodNetwork) and stops the streaming
// server. The runtime answers nothing afterwards.
func (r *Runtime) Close() {
	r.mu.Lock()
	r.closed = true
	r.endEventsLocked()
	for _, c := range r.containers {
		if c.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
			r.exitLocked(c, behavior.KilledExitCode, "", false)
		}
	}
	for a := range r.usedIPs {
		r.releaseIPLocked(a)
	}
	var nets []SandboxNetwork
	for _, s := range r.sandboxes {
		if s.net != nil {
			nets = append(nets, s.net)
			s.net = nil
		}
	}
	r.mu.Unlock()
	// Close has no error to return; a namespace that cannot be removed is
	// left for its PodNetwork's own cleanup.
	_ = closeNetworks(nets)
	r.stream.stop()
}

// Usage is what the simulated node holds right now.
type Usage struct {
	Sandboxes, ReadySandboxes     int
	Containers, RunningContainers int
	Images                        int
	// CPUMillis and MemoryBytes sum the limits of running containers.
	CPUMillis   int64
	MemoryBytes int64
}

// Usage reports the runtime's resource accounting.
func (r *Runtime) Usage() Usage {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := Usage{Sandboxes: len(r.sandboxes), Containers: len(r.containers), Images: len(r.images)}
	for _, s := range r.sandboxes {
		if s.state == runtimeapi.PodSandboxState_SANDBOX_READY {
			u.ReadySandboxes++
		}
	}
	for _, c := range r.containers {
		if c.state != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		u.RunningContainers++
		if res := c.resources; res != nil {
			if res.CpuPeriod > 0 && res.CpuQuota > 0 {
				u.CPUMillis += res.CpuQuota * 1000 / res.CpuPeriod
			}
			u.MemoryBytes += res.MemoryLimitInBytes
		}
	}
	return u
}

// Version implements RuntimeService.
func (r *Runtime) Version(ctx context.Context, req *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{
		Version:           "0.1.0",
		RuntimeName:       RuntimeName,
		RuntimeVersion:    RuntimeVersion,
		RuntimeApiVersion: "v1",
	}, nil
}

// Status implements RuntimeService: the runtime and its network are ready.
func (r *Runtime) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			{Type: runtimeapi.RuntimeReady, Status: true},
			{Type: runtimeapi.NetworkReady, Status: true},
		}},
		RuntimeHandlers: []*runtimeapi.RuntimeHandler{{Name: "", Features: &runtimeapi.RuntimeHandlerFeatures{}}},
		Features:        &runtimeapi.RuntimeFeatures{},
	}, nil
}

// UpdateRuntimeConfig implements RuntimeService (records the pod CIDR).
func (r *Runtime) UpdateRuntimeConfig(ctx context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if nc := req.GetRuntimeConfig().GetNetworkConfig(); nc != nil {
		r.podCIDR = nc.PodCidr
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}

// RuntimeConfig implements RuntimeService: the cgroup driver is cgroupfs.
func (r *Runtime) RuntimeConfig(ctx context.Context, req *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: runtimeapi.CgroupDriver_CGROUPFS}}, nil
}

func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

func notFound(kind, id string) error {
	return status.Errorf(codes.NotFound, "%s %q: not found", kind, id)
}

// ipClaimPort is the port a simulated pod IP is claimed with: every pod IP in
// use holds a listener on it, so simulated runtimes in different processes
// (parallel test binaries, two clusterkit up) that were given overlapping
// subnets never hand out the same IP, whose ports would then collide. Pods
// cannot listen on this one port.
const ipClaimPort = 65534

// releaseIPLocked frees a pod IP and its claim.
func (r *Runtime) releaseIPLocked(a netip.Addr) {
	if claim, ok := r.usedIPs[a]; ok {
		_ = claim.Close()
		delete(r.usedIPs, a)
	}
}

// allocIPLocked hands out the next free pod IP of the subnet.
func (r *Runtime) allocIPLocked() (netip.Addr, error) {
	p := r.opts.PodSubnet
	size := 1 << (32 - p.Bits())
	for range size {
		a := r.nextIP
		r.nextIP = a.Next()
		if !p.Contains(r.nextIP) {
			r.nextIP = p.Addr().Next()
		}
		b := a.As4()
		if !p.Contains(a) || b[3] == 0 || b[3] == 255 {
			continue
		}
		if _, used := r.usedIPs[a]; used {
			continue
		}
		claim, err := net.Listen("tcp", netip.AddrPortFrom(a, ipClaimPort).String())
		if err != nil {
			// Another process's simulated pod has this IP.
			continue
		}
		r.usedIPs[a] = claim
		return a, nil
	}
	return netip.Addr{}, status.Errorf(codes.ResourceExhausted, "pod subnet %s is full", p)
}

// sendChunks sends items through send in chunks of at most 500, as the Stream* calls answer a
// List in several messages.
func sendChunks[T any](items []T, send func([]T) error) error {
	for len(items) > 0 {
		n := min(len(items), 500)
		if err := send(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}
