package simruntime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

type container struct {
	id        string
	sandboxID string
	meta      *runtimeapi.ContainerMetadata
	image     *runtimeapi.ImageSpec
	imageID   string
	labels    map[string]string
	annots    map[string]string
	mounts    []*runtimeapi.Mount
	env       []string
	resources *runtimeapi.LinuxContainerResources
	logPath   string
	argv      []string
	b         behavior.Behavior
	testImage bool
	failStart bool
	// proc is the modelled process's identity and privileges.
	proc behavior.Process
	// pinned are the files bind-mounted as files, opened at creation: a bind mount holds the
	// file's inode, so the container keeps reading it after the node's path is replaced
	// (a subPath of an updated ConfigMap volume).
	pinned map[string]*os.File
	// fsMu guards written: the files the container wrote outside its mounts.
	fsMu    sync.Mutex
	written map[string][]byte

	state      runtimeapi.ContainerState
	createdAt  int64
	startedAt  int64
	finishedAt int64
	exitCode   int32
	reason     string
	message    string

	timer    *time.Timer
	srv      *http.Server
	grpcSrv  *grpc.Server
	hostSrvs []*http.Server
	server   *behavior.Server
	stopping bool
	exited   chan struct{}
	// attached are the clients attached to the process's output (attach.go).
	attached attachers
	// prog is the container's Program (Options.Programs), nil for simulated processes;
	// program is it running.
	prog    Program
	program *programRun
}

// CreateContainer implements RuntimeService. The container's behaviour is
// fixed here from its image and argv (see package behavior).
func (r *Runtime) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	cfg := req.GetConfig()
	if cfg.GetMetadata() == nil || cfg.GetMetadata().GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "container config must include metadata with a name")
	}
	if cfg.GetImage().GetImage() == "" {
		return nil, status.Error(codes.InvalidArgument, "container config must name an image")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.lookupSandboxLocked(req.PodSandboxId)
	if !ok {
		return nil, notFound("pod sandbox", req.PodSandboxId)
	}
	if s.state != runtimeapi.PodSandboxState_SANDBOX_READY {
		return nil, status.Errorf(codes.FailedPrecondition, "pod sandbox %q is not ready", s.id)
	}
	img, ok := r.lookupImageLocked(cfg.Image.Image)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "image %q not found: pull it first", cfg.Image.Image)
	}
	for _, c := range r.containers {
		if c.sandboxID == s.id && c.meta.GetName() == cfg.Metadata.Name && c.meta.GetAttempt() == cfg.Metadata.Attempt {
			return nil, status.Errorf(codes.AlreadyExists, "container name %q attempt %d is reserved for %q", cfg.Metadata.Name, cfg.Metadata.Attempt, c.id)
		}
	}
	argv := cfg.Command
	if len(argv) == 0 {
		argv = img.entrypoint
		if len(cfg.Args) == 0 {
			argv = append(append([]string{}, argv...), img.cmd...)
		}
	}
	argv = append(append([]string{}, argv...), cfg.Args...)
	proc, err := processOf(s, cfg.GetLinux().GetSecurityContext(), argv)
	if err != nil {
		return nil, err
	}
	c := &container{
		id:        newID(),
		sandboxID: s.id,
		meta:      cfg.Metadata,
		image:     &runtimeapi.ImageSpec{Image: cfg.Image.Image, Annotations: cfg.Image.Annotations},
		imageID:   img.id,
		labels:    cfg.Labels,
		annots:    cfg.Annotations,
		mounts:    cfg.Mounts,
		env:       environ(cfg.Envs),
		resources: cfg.GetLinux().GetResources(),
		argv:      argv,
		b:         behavior.Main(argv),
		testImage: img.kind == kindTest,
		failStart: r.failureLocked(img) == StartError,
		proc:      proc,
		pinned:    pinFileMounts(cfg.Mounts),
		state:     runtimeapi.ContainerState_CONTAINER_CREATED,
		createdAt: time.Now().UnixNano(),
		exited:    make(chan struct{}),
	}
	if img.kind != kindTest && img.kind != kindPause && len(cfg.Command) == 0 && len(cfg.Args) == 0 {
		// An image whose entrypoint the simulator does not know: its own
		// program runs until stopped; a known web server serves on port 80.
		c.b = behavior.Behavior{Kind: behavior.Pause}
		if img.kind == kindWeb {
			name := path.Base(repository(NormalizeRef(cfg.Image.Image)))
			c.b = behavior.Behavior{Kind: behavior.Serve, Port: 80, Path: "/healthz", Output: []string{name + ": serving HTTP on port 80"}}
		}
	}
	if p := r.programFor(img); p != nil {
		c.prog, c.b = p, behavior.Behavior{Kind: behavior.Pause}
	}
	if s.logDir != "" && cfg.LogPath != "" {
		c.logPath = filepath.Join(s.logDir, cfg.LogPath)
	}
	r.containers[c.id] = c
	r.emitContainerLocked(c, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT)
	return &runtimeapi.CreateContainerResponse{ContainerId: c.id}, nil
}

func (r *Runtime) lookupContainerLocked(id string) (*container, bool) {
	if c, ok := r.containers[id]; ok {
		return c, true
	}
	if id == "" {
		return nil, false
	}
	var found *container
	for k, c := range r.containers {
		if strings.HasPrefix(k, id) {
			if found != nil {
				return nil, false
			}
			found = c
		}
	}
	return found, found != nil
}

// StartContainer implements RuntimeService: after StartLatency the
// container is RUNNING and acts out its behaviour.
func (r *Runtime) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	if err := sleepCtx(ctx, r.opts.StartLatency); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	if !ok {
		return nil, notFound("container", req.ContainerId)
	}
	if c.state != runtimeapi.ContainerState_CONTAINER_CREATED {
		return nil, status.Errorf(codes.FailedPrecondition, "container %q is in state %s, not CREATED", c.id, c.state)
	}
	s := r.sandboxes[c.sandboxID]
	now := time.Now()
	if c.failStart {
		c.state = runtimeapi.ContainerState_CONTAINER_EXITED
		c.startedAt, c.finishedAt = 0, now.UnixNano()
		c.exitCode, c.reason = 128, "StartError"
		c.message = "failed to create containerd task: simulated start failure"
		close(c.exited)
		r.emitContainerLocked(c, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT)
		return nil, status.Error(codes.Unknown, c.message)
	}
	c.state = runtimeapi.ContainerState_CONTAINER_RUNNING
	c.startedAt = now.UnixNano()
	r.emitContainerLocked(c, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT)
	if c.prog != nil {
		c.touchLog()
		r.startProgramLocked(c, c.prog)
		return &runtimeapi.StartContainerResponse{}, nil
	}
	lines := c.b.StartLines(s.hostname)
	if len(c.argv) > 0 && behavior.IsTestBinary(c.argv[0]) {
		if _, err := behavior.Parse(c.argv); err != nil {
			c.writeLog("stderr", lines...)
			lines = nil
		}
	}
	c.touchLog()
	if b, ok := c.localExecMain(s); ok {
		// An exec-only ckimage command as the main process runs once, as the real
		// binary does: its output is the container's log, its exit code the container's.
		c.b, lines = b, nil
		c.writeLog("stdout", b.Output...)
		c.writeLog("stderr", b.Args...)
	}
	c.writeLog("stdout", lines...)
	if c.b.WritePath != "" {
		if err := c.writeFile(c.b.WritePath, []byte(c.b.WriteText)); err != nil {
			c.writeLog("stderr", err.Error())
			r.exitLocked(c, 1, "", false)
			return &runtimeapi.StartContainerResponse{}, nil
		}
	}
	if c.b.Kind == behavior.Serve {
		if err := r.listenLocked(c, s, now); err != nil {
			c.writeLog("stderr", err.Error())
			r.exitLocked(c, 1, "", false)
			return &runtimeapi.StartContainerResponse{}, nil
		}
	}
	if after, code, ends := c.b.Ends(); ends {
		id := c.id
		c.timer = time.AfterFunc(after, func() { r.processExit(id, code) })
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

// listenLocked opens the container's real HTTP listener on its pod IP.
func (r *Runtime) listenLocked(c *container, s *sandbox, start time.Time) error {
	addr := net.JoinHostPort(s.podIP(), strconv.Itoa(c.b.Port))
	listen := net.Listen
	if s.net != nil {
		listen = s.net.Listen // inside the sandbox's namespace
	}
	ln, err := listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	id := c.id
	c.server = behavior.NewServer(c.b, s.hostname, start, func(code int) { r.processExit(id, code) })
	c.server.SetPrint(func(line string) { c.writeLog("stdout", line) })
	c.srv = &http.Server{Handler: c.server, ReadHeaderTimeout: 10 * time.Second}
	srv := c.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.processExit(id, 1)
		}
	}()
	if c.b.GRPCPort > 0 {
		gaddr := net.JoinHostPort(s.podIP(), strconv.Itoa(c.b.GRPCPort))
		gln, err := listen("tcp", gaddr)
		if err != nil {
			srv.Close()
			c.srv = nil
			return fmt.Errorf("listen tcp %s: %w", gaddr, err)
		}
		c.grpcSrv = behavior.NewGRPCHealthServer(c.server)
		g := c.grpcSrv
		go func() { _ = g.Serve(gln) }()
	}
	// hostPort mappings of the sandbox reach the same server on the host IP,
	// as the CNI portmap plugin makes them on a real node.
	for _, pm := range s.portMappings {
		if pm.ContainerPort != int32(c.b.Port) || pm.HostPort == 0 || pm.Protocol != runtimeapi.Protocol_TCP {
			continue
		}
		hostIP := pm.HostIp
		if hostIP == "" || hostIP == "0.0.0.0" {
			hostIP = r.hostIP
		}
		hln, err := net.Listen("tcp", net.JoinHostPort(hostIP, strconv.Itoa(int(pm.HostPort))))
		if err != nil {
			continue // a real portmap rule would not fail the container either
		}
		hs := &http.Server{Handler: c.server, ReadHeaderTimeout: 10 * time.Second}
		c.hostSrvs = append(c.hostSrvs, hs)
		go func() { _ = hs.Serve(hln) }()
	}
	return nil
}

// processExit is the simulated process leaving by itself with code.
func (r *Runtime) processExit(id string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok && c.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
		r.exitLocked(c, code, "", false)
	}
}

// exitLocked moves a running container to EXITED. term: it left because
// of SIGTERM (prints the termination line).
func (r *Runtime) exitLocked(c *container, code int, reason string, term bool) {
	if c.state != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.program != nil {
		c.program.cancel()
	}
	if c.srv != nil {
		srv := c.srv
		c.srv = nil
		go srv.Close()
	}
	if c.grpcSrv != nil {
		go c.grpcSrv.Stop()
		c.grpcSrv = nil
	}
	for _, hs := range c.hostSrvs {
		go hs.Close()
	}
	c.hostSrvs = nil
	if term && c.testImage {
		c.writeLog("stdout", behavior.TermLine)
	}
	c.state = runtimeapi.ContainerState_CONTAINER_EXITED
	c.finishedAt = time.Now().UnixNano()
	c.exitCode = int32(code)
	switch {
	case reason != "":
		c.reason = reason
	case code == 0:
		c.reason = "Completed"
	default:
		c.reason = "Error"
	}
	close(c.exited)
	r.emitContainerLocked(c, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT)
}

// StopContainer implements RuntimeService. The process gets SIGTERM: the
// test image exits 0 at once, after --term-delay, or (with --ignore-term or
// a term delay longer than the timeout) is killed with exit code 137 when
// the timeout ends; leaving because of SIGTERM it first GETs its --term-fetch
// URL. Stopping a stopped or unknown container succeeds.
func (r *Runtime) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	r.mu.Lock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	if !ok {
		// Idempotent, as the CRI asks: a container already removed is stopped.
		r.mu.Unlock()
		return &runtimeapi.StopContainerResponse{}, nil
	}
	if c.state != runtimeapi.ContainerState_CONTAINER_RUNNING {
		r.mu.Unlock()
		return &runtimeapi.StopContainerResponse{}, nil
	}
	timeout := time.Duration(req.Timeout) * time.Second
	b, exited, id := c.b, c.exited, c.id
	if req.Timeout <= 0 {
		r.exitLocked(c, behavior.KilledExitCode, "", false)
		r.mu.Unlock()
		return &runtimeapi.StopContainerResponse{}, nil
	}
	if c.program != nil {
		// SIGTERM: the Program's context ends; it has the timeout to return, else it is killed.
		c.program.cancel()
		r.mu.Unlock()
		return r.killAfter(ctx, id, exited, timeout)
	}
	if !b.IgnoreTerm && b.TermDelay == 0 && b.TermFetch == "" {
		r.exitLocked(c, 0, "", true)
		r.mu.Unlock()
		return &runtimeapi.StopContainerResponse{}, nil
	}
	var dial func(ctx context.Context, network, address string) (net.Conn, error)
	if s := r.sandboxes[c.sandboxID]; s != nil && s.net != nil {
		dial = s.net.Dial // the process's connections start in its sandbox
	}
	r.mu.Unlock()

	wait, code, term := timeout, behavior.KilledExitCode, false
	if !b.IgnoreTerm && b.TermDelay < timeout {
		wait, code, term = b.TermDelay, 0, true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-exited:
		return &runtimeapi.StopContainerResponse{}, nil
	case <-ctx.Done():
		// The caller gave up: kill as containerd would.
		code, term = behavior.KilledExitCode, false
	case <-t.C:
	}
	if term && b.TermFetch != "" {
		// --term-fetch: the process calls out before it leaves, within what is left of
		// the timeout.
		fctx, cancel := context.WithTimeout(ctx, max(timeout-wait, 0))
		behavior.FetchOnTerm(fctx, b, dial)
		cancel()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok {
		r.exitLocked(c, code, "", term)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

// RemoveContainer implements RuntimeService: a running container is killed
// first; removing an unknown container succeeds.
func (r *Runtime) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	if !ok {
		return &runtimeapi.RemoveContainerResponse{}, nil
	}
	r.exitLocked(c, behavior.KilledExitCode, "", false)
	delete(r.containers, c.id)
	c.unpin()
	r.emitContainerLocked(c, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT)
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (c *container) toAPI() *runtimeapi.Container {
	return &runtimeapi.Container{
		Id:           c.id,
		PodSandboxId: c.sandboxID,
		Metadata:     c.meta,
		Image:        c.image,
		ImageRef:     c.imageID,
		ImageId:      c.imageID,
		State:        c.state,
		CreatedAt:    c.createdAt,
		Labels:       c.labels,
		Annotations:  c.annots,
	}
}

func (r *Runtime) listContainers(f *runtimeapi.ContainerFilter) []*runtimeapi.Container {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtimeapi.Container
	for _, c := range r.containers {
		if f != nil {
			if f.Id != "" && !strings.HasPrefix(c.id, f.Id) {
				continue
			}
			if f.PodSandboxId != "" && !strings.HasPrefix(c.sandboxID, f.PodSandboxId) {
				continue
			}
			if f.State != nil && f.State.State != c.state {
				continue
			}
			if !labelsMatch(c.labels, f.LabelSelector) {
				continue
			}
		}
		out = append(out, c.toAPI())
	}
	return out
}

// ListContainers implements RuntimeService (filters: ID or prefix, sandbox,
// state, labels).
func (r *Runtime) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	return &runtimeapi.ListContainersResponse{Containers: r.listContainers(req.Filter)}, nil
}

// StreamContainers implements RuntimeService: ListContainers in chunks.
func (r *Runtime) StreamContainers(req *runtimeapi.StreamContainersRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamContainersResponse]) error {
	return sendChunks(r.listContainers(req.Filter), func(chunk []*runtimeapi.Container) error {
		return stream.Send(&runtimeapi.StreamContainersResponse{Containers: chunk})
	})
}

// ContainerStatus implements RuntimeService.
func (r *Runtime) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	if !ok {
		return nil, notFound("container", req.ContainerId)
	}
	st := &runtimeapi.ContainerStatus{
		Id:          c.id,
		Metadata:    c.meta,
		State:       c.state,
		CreatedAt:   c.createdAt,
		StartedAt:   c.startedAt,
		FinishedAt:  c.finishedAt,
		ExitCode:    c.exitCode,
		Image:       c.image,
		ImageRef:    c.imageID,
		ImageId:     c.imageID,
		Reason:      c.reason,
		Message:     c.message,
		Labels:      c.labels,
		Annotations: c.annots,
		Mounts:      c.mounts,
		LogPath:     c.logPath,
		Resources:   &runtimeapi.ContainerResources{Linux: c.resources},
		User:        &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{}},
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: st}
	if req.Verbose {
		resp.Info = map[string]string{"info": fmt.Sprintf(`{"runtime":%q,"behavior":%q}`, RuntimeName, c.b.String())}
	}
	return resp, nil
}

// UpdateContainerResources implements RuntimeService (recorded for Usage).
func (r *Runtime) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	if !ok {
		return nil, notFound("container", req.ContainerId)
	}
	if req.Linux != nil {
		c.resources = req.Linux
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// ReopenContainerLog implements RuntimeService. Log lines are appended
// with a fresh open each time, so there is nothing to reopen; it fails for
// a container that is not running, as containerd's does.
func (r *Runtime) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	if !ok {
		return nil, notFound("container", req.ContainerId)
	}
	if c.state != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return nil, status.Errorf(codes.FailedPrecondition, "container %q is not running", c.id)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}

func (r *Runtime) statsLocked(c *container, now int64) *runtimeapi.ContainerStats {
	var mem, rate uint64
	if c.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
		mem, rate = r.opts.ContainerMemory, r.opts.ContainerNanoCores
	}
	return &runtimeapi.ContainerStats{
		Attributes: &runtimeapi.ContainerAttributes{Id: c.id, Metadata: c.meta, Labels: c.labels, Annotations: c.annots},
		Cpu: &runtimeapi.CpuUsage{Timestamp: now, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: r.cpuUsedLocked(c, now)},
			UsageNanoCores: &runtimeapi.UInt64Value{Value: rate}},
		Memory: &runtimeapi.MemoryUsage{Timestamp: now, WorkingSetBytes: &runtimeapi.UInt64Value{Value: mem}, UsageBytes: &runtimeapi.UInt64Value{Value: mem}, RssBytes: &runtimeapi.UInt64Value{Value: mem}},
		WritableLayer: &runtimeapi.FilesystemUsage{Timestamp: now, FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: simFsMount},
			UsedBytes: &runtimeapi.UInt64Value{}, InodesUsed: &runtimeapi.UInt64Value{}},
	}
}

// cpuUsedLocked is the container's cumulative CPU time in core-nanoseconds: Options.ContainerNanoCores
// for every second it has run (until now, or until it exited), so it only grows.
func (r *Runtime) cpuUsedLocked(c *container, now int64) uint64 {
	if c.startedAt == 0 {
		return 0
	}
	end := now
	if c.finishedAt != 0 {
		end = c.finishedAt
	}
	if end <= c.startedAt {
		return 0
	}
	return uint64(float64(end-c.startedAt) / float64(time.Second) * float64(r.opts.ContainerNanoCores))
}

// ContainerStats implements RuntimeService with synthetic figures: Options.ContainerNanoCores of
// CPU and Options.ContainerMemory of memory while running.
func (r *Runtime) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.lookupContainerLocked(req.ContainerId)
	if !ok {
		return nil, notFound("container", req.ContainerId)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: r.statsLocked(c, time.Now().UnixNano())}, nil
}

// ListContainerStats implements RuntimeService.
func (r *Runtime) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := req.Filter
	now := time.Now().UnixNano()
	var out []*runtimeapi.ContainerStats
	for _, c := range r.containers {
		if f != nil {
			if f.Id != "" && !strings.HasPrefix(c.id, f.Id) {
				continue
			}
			if f.PodSandboxId != "" && !strings.HasPrefix(c.sandboxID, f.PodSandboxId) {
				continue
			}
			if !labelsMatch(c.labels, f.LabelSelector) {
				continue
			}
		}
		out = append(out, r.statsLocked(c, now))
	}
	return &runtimeapi.ListContainerStatsResponse{Stats: out}, nil
}

// environ is the container's environment as KEY=VALUE, the image's PATH first.
func environ(envs []*runtimeapi.KeyValue) []string {
	out := []string{"PATH=/"}
	for _, kv := range envs {
		out = append(out, kv.Key+"="+string(kv.Value))
	}
	return out
}

// localExecMain runs a main process that is an exec-only ckimage command working on the
// container itself (echo, cat, env, write, touch, ...) and returns it as an Exit behaviour
// whose Output is its stdout lines and Args its stderr lines.
func (c *container) localExecMain(s *sandbox) (behavior.Behavior, bool) {
	if !c.testImage || len(c.argv) == 0 || !behavior.IsTestBinary(c.argv[0]) {
		return behavior.Behavior{}, false
	}
	parsed, err := behavior.Parse(c.argv)
	if err != nil || parsed.RunsAsMain() {
		return behavior.Behavior{}, false
	}
	switch parsed.Kind {
	case behavior.True, behavior.False, behavior.Hostname, behavior.Echo, behavior.Cat, behavior.Env,
		behavior.Write, behavior.Fill, behavior.Touch, behavior.Stat, behavior.StatFS, behavior.Remove, behavior.ProcStatus, behavior.PID1:
	default:
		return behavior.Behavior{}, false
	}
	files := s.files()
	proc := c.proc
	res, err := behavior.Exec(context.Background(), c.argv, behavior.ExecEnv{
		Hostname: s.hostname, TestImage: true, Files: files, Process: &proc, Environ: c.env,
		ReadFile: func(p string) ([]byte, error) { return c.readFile(p, files) }, WriteFile: c.writeFile,
		Stat: func(p string) (behavior.FileStat, error) { return c.stat(p, files) }, StatFS: c.statfs, Remove: c.remove,
	})
	if err != nil {
		return behavior.Behavior{}, false
	}
	return behavior.Behavior{Kind: behavior.Exit, Code: res.ExitCode, Output: splitLines(res.Stdout), Args: splitLines(res.Stderr)}, true
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// pinFileMounts opens the host files of the mounts that bind a file reached through a symbolic
// link (a subPath of a ConfigMap, Secret or projected volume, whose files the kubelet replaces
// by swapping the volume's ..data link). A file reached without one (a termination-message
// file, /etc/hosts) keeps its inode as long as nobody renames another over it, which the
// kubelet never does: reading it through its path is the same, and costs no open file per
// container (10,000 pods in one process would need 10,000 more).
func pinFileMounts(ms []*runtimeapi.Mount) map[string]*os.File {
	out := map[string]*os.File{}
	for _, m := range ms {
		if info, err := os.Stat(m.HostPath); err != nil || info.IsDir() {
			continue
		}
		if real, err := filepath.EvalSymlinks(m.HostPath); err == nil && real == filepath.Clean(m.HostPath) {
			continue
		}
		if f, err := os.Open(m.HostPath); err == nil {
			out[strings.TrimSuffix(m.ContainerPath, "/")] = f
		}
	}
	return out
}

// unpin closes the pinned files.
func (c *container) unpin() {
	for _, f := range c.pinned {
		_ = f.Close()
	}
	c.pinned = nil
}

// mountFor is the mount with the longest container path holding path, and path relative to
// it.
func (c *container) mountFor(path string) (*runtimeapi.Mount, string) {
	var best *runtimeapi.Mount
	for _, m := range c.mounts {
		cp := strings.TrimSuffix(m.ContainerPath, "/")
		if (path == cp || strings.HasPrefix(path, cp+"/")) && (best == nil || len(cp) > len(strings.TrimSuffix(best.ContainerPath, "/"))) {
			best = m
		}
	}
	if best == nil {
		return nil, ""
	}
	return best, strings.TrimPrefix(path, strings.TrimSuffix(best.ContainerPath, "/"))
}

// readFile reads path as the container sees it: through the mount with the longest
// container path holding it (the host's file; a file mount's pinned inode), else what the
// container wrote, else the sandbox's own files.
func (c *container) readFile(path string, files map[string]string) ([]byte, error) {
	if m, rel := c.mountFor(path); m != nil {
		if f, ok := c.pinned[strings.TrimSuffix(m.ContainerPath, "/")]; ok && rel == "" {
			info, err := f.Stat()
			if err != nil {
				return nil, err
			}
			buf := make([]byte, info.Size())
			n, err := f.ReadAt(buf, 0)
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return buf[:n], nil
		}
		return os.ReadFile(filepath.Join(m.HostPath, rel))
	}
	c.fsMu.Lock()
	b, ok := c.written[path]
	c.fsMu.Unlock()
	if ok {
		return append([]byte(nil), b...), nil
	}
	if content, ok := files[path]; ok {
		return []byte(content), nil
	}
	return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
}

// writeFile writes path as the container's process would: through a mount to the node's file
// (EROFS on a read-only mount; a process that is not root needs write permission on the
// directory, by owner, group, supplementary groups or others), else into the container's own
// file system under the image's permissions (behavior.SimulatedWriteAllowed).
func (c *container) writeFile(path string, data []byte) error {
	if m, rel := c.mountFor(path); m != nil {
		if m.Readonly {
			return &fs.PathError{Op: "open", Path: path, Err: syscall.EROFS}
		}
		host := filepath.Join(m.HostPath, rel)
		if c.proc.UID != 0 && !c.mayWrite(filepath.Dir(host)) {
			return &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
		}
		return os.WriteFile(host, data, 0o644)
	}
	if err := behavior.SimulatedWriteAllowed(&c.proc, path); err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	c.fsMu.Lock()
	defer c.fsMu.Unlock()
	if c.written == nil {
		c.written = map[string][]byte{}
	}
	c.written[path] = append([]byte(nil), data...)
	return nil
}

// stat answers `ckimage stat`: a mounted file as the node has it, a file the container wrote
// as its process made it (mode 0644), a file of the sandbox as root's 0644.
func (c *container) stat(path string, files map[string]string) (behavior.FileStat, error) {
	if m, rel := c.mountFor(path); m != nil {
		return behavior.RealStat(filepath.Join(m.HostPath, rel))
	}
	c.fsMu.Lock()
	_, ok := c.written[path]
	c.fsMu.Unlock()
	if ok {
		return behavior.FileStat{Mode: 0o644, UID: c.proc.UID, GID: c.proc.GID}, nil
	}
	if _, ok := files[path]; ok {
		return behavior.FileStat{Mode: 0o644}, nil
	}
	return behavior.FileStat{}, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
}

// remove answers `ckimage rm`: through a writable mount it removes the node's path (never the
// mount point itself); elsewhere what the container wrote.
func (c *container) remove(path string) error {
	if m, rel := c.mountFor(path); m != nil {
		if m.Readonly {
			return &fs.PathError{Op: "unlinkat", Path: path, Err: syscall.EROFS}
		}
		if rel == "" || rel == "/" {
			return &fs.PathError{Op: "unlinkat", Path: path, Err: syscall.EBUSY}
		}
		return os.RemoveAll(filepath.Join(m.HostPath, rel))
	}
	c.fsMu.Lock()
	defer c.fsMu.Unlock()
	for p := range c.written {
		if p == path || strings.HasPrefix(p, path+"/") {
			delete(c.written, p)
		}
	}
	return nil
}

// statfs answers `ckimage statfs`: a mounted path's file system is the node's; the
// container's own files are on an overlay.
func (c *container) statfs(path string) (string, error) {
	if m, rel := c.mountFor(path); m != nil {
		return behavior.RealStatFS(filepath.Join(m.HostPath, rel))
	}
	return "overlay 0", nil
}

// mayWrite reports whether the modelled process may create files in the node's directory dir.
func (c *container) mayWrite(dir string) bool {
	info, err := os.Stat(dir)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := info.Mode().Perm()
	switch {
	case st.Uid == c.proc.UID:
		return perm&0o200 != 0
	case st.Gid == c.proc.GID || slices.Contains(c.proc.Groups, st.Gid):
		return perm&0o020 != 0
	}
	return perm&0o002 != 0
}
