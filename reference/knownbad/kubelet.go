package knownbad

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/reference/kubelet"
)

// The known-bad kubelets are clusterkit's kubelet with one bug each, put in
// where a real kubelet could have it: in its configuration or between it
// and its container runtime (the CRI calls it makes and what it believes
// they answered).

// KubeletNeverRestarting wraps the kubelet's runtime so that no container is
// ever created a second time: a container that exits stays dead whatever
// the restart policy says.
func KubeletNeverRestarting(rt cri.RuntimeService) cri.RuntimeService {
	return neverRestarting{rt}
}

type neverRestarting struct{ cri.RuntimeService }

func (n neverRestarting) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	if cfg.GetMetadata().GetAttempt() > 0 {
		return "", fmt.Errorf("knownbad: this kubelet never restarts containers")
	}
	return n.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}

// KubeletWithoutBackoff configures the kubelet to restart crashed
// containers at once, every time: no crash-loop back-off.
func KubeletWithoutBackoff(c *kubelet.Config) {
	c.BackoffBase, c.BackoffCap = time.Nanosecond, time.Nanosecond
}

// KubeletWithOpenAPI configures the kubelet API as the real kubelet's flags default without a
// configuration file: anonymous requests let through (--anonymous-auth=true) and every caller
// allowed everything (--authorization-mode=AlwaysAllow), so anyone reaching the node's port
// reads logs and runs commands in its containers.
func KubeletWithOpenAPI(c *kubelet.Config) {
	c.AnonymousAuth, c.AuthorizationMode = true, kubelet.AuthorizationAlwaysAllow
}

// KubeletAuthorizingAnyUser configures the kubelet API to refuse anonymous requests but let
// any authenticated caller do everything (--anonymous-auth=false with
// --authorization-mode=AlwaysAllow): every ServiceAccount may exec into every pod on the node.
func KubeletAuthorizingAnyUser(c *kubelet.Config) {
	c.AuthorizationMode = kubelet.AuthorizationAlwaysAllow
}

// KubeletReportingRunningEarly wraps the kubelet's runtime so that a
// container counts as running as soon as it is asked to start, while it
// really starts delay later (as a kubelet that sets Running when it issues
// the start, not when the start is done).
func KubeletReportingRunningEarly(delay time.Duration) func(cri.RuntimeService) cri.RuntimeService {
	return func(rt cri.RuntimeService) cri.RuntimeService {
		return &runningEarly{RuntimeService: rt, delay: delay, pending: map[string]int64{}}
	}
}

type runningEarly struct {
	cri.RuntimeService
	delay   time.Duration
	mu      sync.Mutex
	pending map[string]int64 // container ID -> when it was "started"
}

func (r *runningEarly) StartContainer(ctx context.Context, id string) error {
	r.mu.Lock()
	r.pending[id] = time.Now().UnixNano()
	r.mu.Unlock()
	go func() {
		time.Sleep(r.delay)
		_ = r.RuntimeService.StartContainer(context.Background(), id)
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
	}()
	return nil
}

func (r *runningEarly) ContainerStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	resp, err := r.RuntimeService.ContainerStatus(ctx, id, verbose)
	if err != nil || resp.GetStatus() == nil {
		return resp, err
	}
	r.mu.Lock()
	at, ok := r.pending[id]
	r.mu.Unlock()
	if ok && resp.Status.State == runtimeapi.ContainerState_CONTAINER_CREATED {
		resp.Status.State, resp.Status.StartedAt = runtimeapi.ContainerState_CONTAINER_RUNNING, at
	}
	return resp, nil
}

func (r *runningEarly) ListContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	list, err := r.RuntimeService.ListContainers(ctx, f)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range list {
		if _, ok := r.pending[c.Id]; ok && c.State == runtimeapi.ContainerState_CONTAINER_CREATED {
			c.State = runtimeapi.ContainerState_CONTAINER_RUNNING
		}
	}
	return list, err
}

// KubeletIgnoringGracePeriod wraps the kubelet's runtime so that every stop
// kills at once: the grace period the kubelet asks for is dropped.
func KubeletIgnoringGracePeriod(rt cri.RuntimeService) cri.RuntimeService {
	return ignoringGrace{rt}
}

type ignoringGrace struct{ cri.RuntimeService }

func (i ignoringGrace) StopContainer(ctx context.Context, id string, _ int64) error {
	return i.RuntimeService.StopContainer(ctx, id, 0)
}

// KubeletWithoutVolumes wraps a kubelet's runtime so that containers are created without
// their volume mounts and without environment: as a kubelet that hands a container neither
// its volumes nor its Secrets and ConfigMaps.
func KubeletWithoutVolumes(rt cri.RuntimeService) cri.RuntimeService { return withoutVolumes{rt} }

type withoutVolumes struct{ cri.RuntimeService }

func (w withoutVolumes) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	cfg.Mounts, cfg.Envs = nil, nil
	return w.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}

// KubeletIgnoringSecurityContext wraps the kubelet's runtime so that the
// container's user, group and capability settings never reach it: the pod
// shows runAsUser and capabilities drop while its container runs as the
// image's user with the runtime's default capabilities ("a pod that looks
// as asked and isn't").
func KubeletIgnoringSecurityContext(rt cri.RuntimeService) cri.RuntimeService {
	return ignoringSecurity{rt}
}

type ignoringSecurity struct{ cri.RuntimeService }

func (i ignoringSecurity) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	if sc := cfg.GetLinux().GetSecurityContext(); sc != nil {
		sc.RunAsUser, sc.RunAsGroup, sc.RunAsUsername, sc.Capabilities = nil, nil, "", nil
	}
	return i.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}

// KubeletIgnoringPrivilegeSettings wraps the kubelet's runtime so that
// privileged, readOnlyRootFilesystem, no_new_privs and the seccomp profile
// never reach it (the sandbox is still made privileged, so the runtime
// accepts the container).
func KubeletIgnoringPrivilegeSettings(rt cri.RuntimeService) cri.RuntimeService {
	return ignoringPrivilege{rt}
}

type ignoringPrivilege struct{ cri.RuntimeService }

func (i ignoringPrivilege) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	if sc := cfg.GetLinux().GetSecurityContext(); sc != nil {
		sc.Privileged, sc.ReadonlyRootfs, sc.NoNewPrivs, sc.Seccomp = false, false, false, nil
	}
	return i.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}

// KubeletIgnoringHostPID wraps the kubelet's runtime so that the pod's pid
// namespace choice (hostPID, shareProcessNamespace) is dropped: every
// container gets a pid namespace of its own.
func KubeletIgnoringHostPID(rt cri.RuntimeService) cri.RuntimeService {
	return ignoringHostPID{rt}
}

type ignoringHostPID struct{ cri.RuntimeService }

func (i ignoringHostPID) RunPodSandbox(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string) (string, error) {
	if ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(); ns != nil {
		ns.Pid = runtimeapi.NamespaceMode_CONTAINER
	}
	return i.RuntimeService.RunPodSandbox(ctx, cfg, handler)
}

func (i ignoringHostPID) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	if ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(); ns != nil {
		ns.Pid = runtimeapi.NamespaceMode_CONTAINER
	}
	return i.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}

// KubeletSeeingProbeSuccess wraps the kubelet's runtime so that every synchronous exec (what
// exec probes use) answers success at once without running the command: the kubelet reports
// probe successes it did not see, so a hanging or failing exec probe never restarts
// anything.
func KubeletSeeingProbeSuccess(rt cri.RuntimeService) cri.RuntimeService {
	return probeSuccess{rt}
}

type probeSuccess struct{ cri.RuntimeService }

func (probeSuccess) ExecSync(context.Context, string, []string, time.Duration) ([]byte, []byte, error) {
	return nil, nil, nil
}

// KubeletWithStaleVolumes configures the kubelet never to re-sync a mounted volume
// periodically: a pod keeps the ConfigMap and Secret content it started with forever (its
// downward API files still follow changes of the pod's labels and annotations, which sync the
// pod itself).
func KubeletWithStaleVolumes(c *kubelet.Config) {
	c.VolumeResync = 100 * 365 * 24 * time.Hour
}

// KubeletWithoutServiceLinks wraps the kubelet's runtime so that containers get none of the
// Service environment variables of their namespace (FOO_SERVICE_HOST, FOO_PORT ...), only the
// kubernetes Service's.
func KubeletWithoutServiceLinks(rt cri.RuntimeService) cri.RuntimeService {
	return withoutServiceLinks{rt}
}

type withoutServiceLinks struct{ cri.RuntimeService }

func (w withoutServiceLinks) CreateContainer(ctx context.Context, sandbox string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	var kept []*runtimeapi.KeyValue
	for _, kv := range cfg.Envs {
		link := strings.Contains(kv.Key, "_SERVICE_HOST") || strings.Contains(kv.Key, "_SERVICE_PORT") || strings.Contains(kv.Key, "_PORT")
		if !link || strings.HasPrefix(kv.Key, "KUBERNETES_") {
			kept = append(kept, kv)
		}
	}
	cfg.Envs = kept
	return w.RuntimeService.CreateContainer(ctx, sandbox, cfg, sbCfg)
}

// KubeletIgnoringDNSPolicy wraps the kubelet's runtime so that every pod sandbox gets the
// cluster DNS settings of a ClusterFirst pod (nameserver 10.96.0.10, the cluster search path,
// ndots:5) whatever the pod's dnsPolicy and dnsConfig say: a kubelet that ignores dnsPolicy
// None and Default.
func KubeletIgnoringDNSPolicy(rt cri.RuntimeService) cri.RuntimeService {
	return ignoringDNSPolicy{rt}
}

type ignoringDNSPolicy struct{ cri.RuntimeService }

func (i ignoringDNSPolicy) RunPodSandbox(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string) (string, error) {
	ns := cfg.GetMetadata().GetNamespace()
	cfg.DnsConfig = &runtimeapi.DNSConfig{
		Servers:  []string{"10.96.0.10"},
		Searches: []string{ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"},
		Options:  []string{"ndots:5"},
	}
	return i.RuntimeService.RunPodSandbox(ctx, cfg, handler)
}
