package simruntime

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type sandbox struct {
	id           string
	meta         *runtimeapi.PodSandboxMetadata
	labels       map[string]string
	annots       map[string]string
	hostname     string
	logDir       string
	handler      string
	nsOptions    *runtimeapi.NamespaceOption
	privileged   bool
	sysctls      map[string]string
	portMappings []*runtimeapi.PortMapping
	dns          *runtimeapi.DNSConfig
	state        runtimeapi.PodSandboxState
	createdAt    int64
	ip           netip.Addr // invalid for host-network sandboxes
	hostIP       string
	// net is the sandbox's network namespace (Options.PodNetwork only).
	net SandboxNetwork
}

func (s *sandbox) podIP() string {
	if s.ip.IsValid() {
		return s.ip.String()
	}
	return s.hostIP
}

// RunPodSandbox implements RuntimeService.
func (r *Runtime) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	cfg := req.GetConfig()
	if cfg.GetMetadata() == nil || cfg.GetMetadata().GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "sandbox config must include metadata with a name")
	}
	if err := sleepCtx(ctx, r.opts.SandboxLatency); err != nil {
		return nil, err
	}
	id := newID()
	var sn SandboxNetwork
	if r.opts.PodNetwork != nil && cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() != runtimeapi.NamespaceMode_NODE {
		// Fail fast before the slow Attach; checked again below.
		if err := r.admitSandbox(cfg.Metadata); err != nil {
			return nil, err
		}
		var err error
		if sn, err = r.attachNetwork(ctx, id); err != nil {
			return nil, err
		}
	}
	s, err := r.addSandbox(req, id, sn)
	if err != nil {
		if sn != nil {
			// The runtime closed or the name was taken during Attach.
			_ = sn.Close()
		}
		return nil, err
	}
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: s.id}, nil
}

// addSandbox records a new sandbox with network sn (nil: a loopback IP, or
// none for the host network).
func (r *Runtime) addSandbox(req *runtimeapi.RunPodSandboxRequest, id string, sn SandboxNetwork) (*sandbox, error) {
	cfg := req.GetConfig()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.admitSandboxLocked(cfg.Metadata); err != nil {
		return nil, err
	}
	s := &sandbox{
		id:           id,
		meta:         cfg.Metadata,
		labels:       cfg.Labels,
		annots:       cfg.Annotations,
		hostname:     cfg.Hostname,
		logDir:       cfg.LogDirectory,
		handler:      req.RuntimeHandler,
		nsOptions:    cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(),
		privileged:   cfg.GetLinux().GetSecurityContext().GetPrivileged(),
		sysctls:      cfg.GetLinux().GetSysctls(),
		portMappings: cfg.PortMappings,
		dns:          cfg.DnsConfig,
		state:        runtimeapi.PodSandboxState_SANDBOX_READY,
		createdAt:    time.Now().UnixNano(),
		hostIP:       r.hostIP,
	}
	if s.hostname == "" {
		s.hostname = cfg.Metadata.Name
	}
	switch {
	case sn != nil:
		s.net, s.ip = sn, sn.IP()
	case s.nsOptions.GetNetwork() != runtimeapi.NamespaceMode_NODE:
		ip, err := r.allocIPLocked()
		if err != nil {
			return nil, err
		}
		s.ip = ip
	}
	r.sandboxes[s.id] = s
	r.emitLocked(s.id, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, s)
	r.emitLocked(s.id, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, s)
	return s, nil
}

// admitSandbox checks that a sandbox may be created now.
func (r *Runtime) admitSandbox(meta *runtimeapi.PodSandboxMetadata) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.admitSandboxLocked(meta)
}

// admitSandboxLocked fails when the runtime is closed or a ready sandbox
// holds the name already.
func (r *Runtime) admitSandboxLocked(meta *runtimeapi.PodSandboxMetadata) error {
	if r.closed {
		return status.Error(codes.Unavailable, "runtime closed")
	}
	for _, s := range r.sandboxes {
		if s.state == runtimeapi.PodSandboxState_SANDBOX_READY && sameSandbox(s.meta, meta) {
			return status.Errorf(codes.AlreadyExists, "sandbox name %q is reserved for %q", sandboxName(meta), s.id)
		}
	}
	return nil
}

func sameSandbox(a, b *runtimeapi.PodSandboxMetadata) bool {
	return a.GetName() == b.GetName() && a.GetNamespace() == b.GetNamespace() && a.GetUid() == b.GetUid() && a.GetAttempt() == b.GetAttempt()
}

func sandboxName(m *runtimeapi.PodSandboxMetadata) string {
	return strings.Join([]string{m.GetName(), m.GetNamespace(), m.GetUid()}, "_")
}

// lookupSandboxLocked finds a sandbox by ID or unique ID prefix.
func (r *Runtime) lookupSandboxLocked(id string) (*sandbox, bool) {
	if s, ok := r.sandboxes[id]; ok {
		return s, true
	}
	if id == "" {
		return nil, false
	}
	var found *sandbox
	for k, s := range r.sandboxes {
		if strings.HasPrefix(k, id) {
			if found != nil {
				return nil, false
			}
			found = s
		}
	}
	return found, found != nil
}

// StopPodSandbox implements RuntimeService: every container of the sandbox
// is killed; stopping a stopped or unknown sandbox succeeds.
func (r *Runtime) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.lookupSandboxLocked(req.PodSandboxId)
	if !ok {
		return &runtimeapi.StopPodSandboxResponse{}, nil
	}
	for _, c := range r.containers {
		if c.sandboxID == s.id && c.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
			r.exitLocked(c, 137, "", false)
		}
	}
	if s.state != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		s.state = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
		r.emitLocked(s.id, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, s)
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

// RemovePodSandbox implements RuntimeService: removes the sandbox and its
// containers (killing running ones) and its network namespace (with
// Options.PodNetwork); removing an unknown sandbox succeeds.
func (r *Runtime) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	sn := r.removeSandbox(req.PodSandboxId)
	if sn == nil {
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	// Removing the namespace runs commands: not under r.mu.
	if err := sn.Close(); err != nil {
		return nil, status.Errorf(codes.Unknown, "failed to remove network of sandbox %q: %v", req.PodSandboxId, err)
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

// removeSandbox forgets a sandbox and its containers and returns its
// network, which the caller closes.
func (r *Runtime) removeSandbox(sandboxID string) SandboxNetwork {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.lookupSandboxLocked(sandboxID)
	if !ok {
		return nil
	}
	for id, c := range r.containers {
		if c.sandboxID != s.id {
			continue
		}
		if c.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
			r.exitLocked(c, 137, "", false)
		}
		delete(r.containers, id)
		c.unpin()
		r.emitLocked(c.id, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, s)
	}
	sn := s.net
	s.net = nil
	if sn == nil && s.ip.IsValid() {
		r.releaseIPLocked(s.ip)
	}
	delete(r.sandboxes, s.id)
	r.emitLocked(s.id, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, s)
	return sn
}

// PodSandboxStatus implements RuntimeService.
func (r *Runtime) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.lookupSandboxLocked(req.PodSandboxId)
	if !ok {
		return nil, notFound("pod sandbox", req.PodSandboxId)
	}
	st := &runtimeapi.PodSandboxStatus{
		Id:             s.id,
		Metadata:       s.meta,
		State:          s.state,
		CreatedAt:      s.createdAt,
		Network:        &runtimeapi.PodSandboxNetworkStatus{Ip: s.podIP()},
		Linux:          &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: s.nsOptions}},
		Labels:         s.labels,
		Annotations:    s.annots,
		RuntimeHandler: s.handler,
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st, Timestamp: time.Now().UnixNano()}
	if req.Verbose {
		resp.Info = map[string]string{"info": `{"runtime":"clusterkit-sim","hostname":"` + s.hostname + `"}`}
	}
	return resp, nil
}

func (s *sandbox) toAPI() *runtimeapi.PodSandbox {
	return &runtimeapi.PodSandbox{
		Id:             s.id,
		Metadata:       s.meta,
		State:          s.state,
		CreatedAt:      s.createdAt,
		Labels:         s.labels,
		Annotations:    s.annots,
		RuntimeHandler: s.handler,
	}
}

func (r *Runtime) listSandboxes(f *runtimeapi.PodSandboxFilter) []*runtimeapi.PodSandbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtimeapi.PodSandbox
	for _, s := range r.sandboxes {
		if f != nil {
			if f.Id != "" && !strings.HasPrefix(s.id, f.Id) {
				continue
			}
			if f.State != nil && f.State.State != s.state {
				continue
			}
			if !labelsMatch(s.labels, f.LabelSelector) {
				continue
			}
		}
		out = append(out, s.toAPI())
	}
	return out
}

// ListPodSandbox implements RuntimeService (filters: ID or ID prefix,
// state, labels).
func (r *Runtime) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	return &runtimeapi.ListPodSandboxResponse{Items: r.listSandboxes(req.Filter)}, nil
}

// StreamPodSandboxes implements RuntimeService: ListPodSandbox in chunks.
func (r *Runtime) StreamPodSandboxes(req *runtimeapi.StreamPodSandboxesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxesResponse]) error {
	return sendChunks(r.listSandboxes(req.Filter), func(chunk []*runtimeapi.PodSandbox) error {
		return stream.Send(&runtimeapi.StreamPodSandboxesResponse{PodSandboxes: chunk})
	})
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// files are what `cat` shows of the sandbox's generated files.
func (s *sandbox) files() map[string]string {
	var resolv strings.Builder
	for _, d := range s.dns.GetSearches() {
		if resolv.Len() == 0 {
			resolv.WriteString("search")
		}
		resolv.WriteString(" " + d)
	}
	if resolv.Len() > 0 {
		resolv.WriteString("\n")
	}
	for _, ns := range s.dns.GetServers() {
		resolv.WriteString("nameserver " + ns + "\n")
	}
	if opts := s.dns.GetOptions(); len(opts) > 0 {
		resolv.WriteString("options " + strings.Join(opts, " ") + "\n")
	}
	return map[string]string{
		"/etc/hostname":    s.hostname + "\n",
		"/etc/resolv.conf": resolv.String(),
	}
}
