package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	ctrd "github.com/containerd/containerd/v2/client"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/client"
	"github.com/clusterkit/clusterkit/cri/registry"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// Namespace is the containerd namespace the CRI plugin uses.
const Namespace = "k8s.io"

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// CNIBinDir is where Debian installs the CNI plugins.
const CNIBinDir = "/usr/lib/cni"

// Config describes one private containerd.
type Config struct {
	// Dir holds everything of the instance (config, root, state, sockets,
	// CNI config and IPAM data). Required; keep it short: unix socket
	// paths are limited to 107 bytes.
	Dir string
	// Binary is the containerd program (default "containerd" on PATH).
	Binary string
	// SandboxImage is the CRI pause image (default behavior.PauseImage);
	// import it before running pods.
	SandboxImage string
	// Bridge is the CNI bridge name (default "ck0"; at most 15 bytes).
	Bridge string
	// Subnet is the pod subnet on the bridge (default 10.88.0.0/24). Pods
	// get no default route and there is no masquerade: they reach the
	// bridge's subnet and the host only.
	Subnet string
	// Routes are extra destinations (IPv4 CIDRs) pods send to the bridge
	// gateway (host-local "routes" with gw = Gateway), e.g. the Service
	// range, so a service proxy on the host can translate them. Pods still
	// have no default route.
	Routes []string
	// RegistryHosts are registries (host:port) to pull from over plain HTTP.
	RegistryHosts []string
	// NetNS, when set, runs containerd inside that network namespace
	// (nsenter --net=NETNS), e.g. "/run/netns/node-1".
	NetNS string
	// Log receives containerd's output (default: Dir/containerd.log).
	Log io.Writer
	// LeaveIPForward keeps net.ipv4.ip_forward as the CNI bridge plugin
	// left it (it turns forwarding on for its gateway). By default Stop
	// turns it off again when it was off before Start; set this when
	// several instances overlap in time or nodes route between bridges.
	LeaveIPForward bool
}

// Instance is a running containerd.
type Instance struct {
	cfg        Config
	forwardWas string
	cmd        *exec.Cmd
	done       chan struct{}
	logf       *os.File
}

// Available reports why real containers cannot run here, or nil: it
// needs root, containerd and runc on PATH and the CNI bridge plugin.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	for _, b := range []string{"containerd", "runc"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s not on PATH (scripts/install-containerd.sh installs it)", b)
		}
	}
	if _, err := os.Stat(filepath.Join(CNIBinDir, "bridge")); err != nil {
		return fmt.Errorf("CNI plugins missing in %s (scripts/install-containerd.sh installs them)", CNIBinDir)
	}
	return nil
}

func (c *Config) defaults() error {
	if c.Dir == "" {
		return errors.New("containerd config: Dir is required")
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = abs
	if c.Binary == "" {
		c.Binary = "containerd"
	}
	if c.SandboxImage == "" {
		c.SandboxImage = behavior.PauseImage
	}
	if c.Bridge == "" {
		c.Bridge = "ck0"
	}
	if len(c.Bridge) > 15 {
		return fmt.Errorf("bridge name %q longer than 15 bytes", c.Bridge)
	}
	if c.Subnet == "" {
		c.Subnet = "10.88.0.0/24"
	}
	if _, err := netip.ParsePrefix(c.Subnet); err != nil {
		return fmt.Errorf("subnet: %w", err)
	}
	for _, r := range c.Routes {
		if p, err := netip.ParsePrefix(r); err != nil || !p.Addr().Is4() {
			return fmt.Errorf("route %q: want an IPv4 CIDR", r)
		}
	}
	if n := len(c.socket()); n > 107 {
		return fmt.Errorf("socket path %s is %d bytes; unix sockets allow 107", c.socket(), n)
	}
	return nil
}

func (c *Config) socket() string { return filepath.Join(c.Dir, "containerd.sock") }

// Gateway is the bridge's address on Subnet (its first address, which
// host-local gives the gateway), or the zero Addr when Subnet is invalid.
func (c *Config) Gateway() netip.Addr {
	subnet := c.Subnet
	if subnet == "" {
		subnet = "10.88.0.0/24"
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return netip.Addr{}
	}
	return p.Masked().Addr().Next()
}

// NetworkName is the CNI network name of the instance.
func (c *Config) NetworkName() string { return "clusterkit-" + c.Bridge }

// Start writes the configuration, starts containerd and waits until its
// CRI Status reports RuntimeReady and NetworkReady.
func Start(ctx context.Context, cfg Config) (*Instance, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	for _, d := range []string{"root", "state", "opt", "runc", "cni/net.d", "cni/ipam", "certs.d"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "config.toml"), []byte(configTOML(cfg)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "cni/net.d/10-clusterkit.conflist"), cniConflist(cfg), 0o644); err != nil {
		return nil, err
	}
	for _, h := range cfg.RegistryHosts {
		if err := registry.WriteHostsTOML(filepath.Join(cfg.Dir, "certs.d"), h); err != nil {
			return nil, err
		}
	}
	inst := &Instance{cfg: cfg, done: make(chan struct{})}
	if b, err := os.ReadFile(ipForward); err == nil {
		inst.forwardWas = strings.TrimSpace(string(b))
	}
	out := cfg.Log
	if out == nil {
		f, err := os.OpenFile(filepath.Join(cfg.Dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		inst.logf, out = f, f
	}
	args := []string{"--config", filepath.Join(cfg.Dir, "config.toml")}
	bin := cfg.Binary
	if cfg.NetNS != "" {
		args = append([]string{"--net=" + cfg.NetNS, "--", cfg.Binary}, args...)
		bin = "nsenter"
	}
	// Not tied to ctx: the instance outlives Start; Stop ends it. In a process group of its
	// own: Ctrl-C in a terminal signals the whole foreground group, and a containerd that died
	// with its parent would leave its shims, pods and veths behind instead of letting Stop
	// remove them first.
	inst.cmd = exec.Command(bin, args...)
	inst.cmd.Stdout, inst.cmd.Stderr = out, out
	inst.cmd.Dir = cfg.Dir
	inst.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := inst.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	go func() { _ = inst.cmd.Wait(); close(inst.done) }()

	conn, err := client.New(cfg.socket()).Raw()
	if err != nil {
		_ = inst.Stop(context.Background())
		return nil, err
	}
	defer conn.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	readyErr := make(chan error, 1)
	go func() { readyErr <- conn.WaitReady(wctx) }()
	select {
	case err := <-readyErr:
		if err != nil {
			_ = inst.Stop(context.Background())
			return nil, fmt.Errorf("containerd not ready (log: %s): %w", filepath.Join(cfg.Dir, "containerd.log"), err)
		}
	case <-inst.done:
		cancel()
		return nil, fmt.Errorf("containerd exited at start: see %s", filepath.Join(cfg.Dir, "containerd.log"))
	}
	return inst, nil
}

// Address is the path of the instance's gRPC socket.
func (i *Instance) Address() string { return i.cfg.socket() }

// Endpoint is the CRI endpoint ("unix://…/containerd.sock").
func (i *Instance) Endpoint() string { return "unix://" + i.cfg.socket() }

// Config is the instance's effective configuration.
func (i *Instance) Config() Config { return i.cfg }

// PID is containerd's process id.
func (i *Instance) PID() int { return i.cmd.Process.Pid }

// AddRegistryHost lets the instance pull from host (host:port) over plain
// HTTP; it takes effect on the next pull.
func (i *Instance) AddRegistryHost(host string) error {
	return registry.WriteHostsTOML(filepath.Join(i.cfg.Dir, "certs.d"), host)
}

// Import loads an image archive (OCI layout or docker save tar) into the
// k8s.io namespace and unpacks it for the overlayfs snapshotter. It
// returns the image names imported.
func (i *Instance) Import(ctx context.Context, archive io.Reader) ([]string, error) {
	return ImportTo(ctx, i.cfg.socket(), archive)
}

// ImportTo imports an image archive into the k8s.io namespace of the
// containerd at address (its socket path) and unpacks it for overlayfs.
func ImportTo(ctx context.Context, address string, archive io.Reader) ([]string, error) {
	c, err := ctrd.New(address, ctrd.WithDefaultNamespace(Namespace), ctrd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("containerd client: %w", err)
	}
	defer c.Close()
	imgs, err := c.Import(ctx, archive)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	var names []string
	for _, img := range imgs {
		if err := ctrd.NewImage(c, img).Unpack(ctx, "overlayfs"); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", img.Name, err)
		}
		names = append(names, img.Name)
	}
	sort.Strings(names)
	return names, nil
}

// Stop removes every pod sandbox through CRI (so shims exit and CNI
// releases addresses), ends containerd by PID (SIGTERM, then SIGKILL after
// 5 s), and removes what it left: mounts under Dir, the bridge, the CNI
// result cache entries of its network, and Dir's contents.
func (i *Instance) Stop(ctx context.Context) error {
	var errs []error
	select {
	case <-i.done:
	default:
		if conn, err := client.New(i.cfg.socket()).Raw(); err == nil {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if resp, err := conn.Runtime.ListPodSandbox(cctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
				for _, s := range resp.Items {
					_, _ = conn.Runtime.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id})
					if _, err := conn.Runtime.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
						errs = append(errs, fmt.Errorf("remove sandbox %s: %w", s.Id, err))
					}
				}
			}
			cancel()
			conn.Close()
		}
		_ = i.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-i.done:
		case <-time.After(5 * time.Second):
			_ = i.cmd.Process.Kill()
			<-i.done
		}
	}
	if i.logf != nil {
		_ = i.logf.Close()
	}
	errs = append(errs, unmountUnder(i.cfg.Dir))
	if i.cfg.NetNS == "" {
		if out, err := exec.Command("ip", "link", "del", i.cfg.Bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			errs = append(errs, fmt.Errorf("delete bridge %s: %v: %s", i.cfg.Bridge, err, out))
		}
	}
	if !i.cfg.LeaveIPForward && i.cfg.NetNS == "" && i.forwardWas == "0" {
		_ = os.WriteFile(ipForward, []byte("0\n"), 0o644)
	}
	if m, _ := filepath.Glob(filepath.Join("/var/lib/cni/results", i.cfg.NetworkName()+"-*")); len(m) > 0 {
		for _, f := range m {
			_ = os.Remove(f)
		}
	}
	for _, d := range []string{"root", "state", "opt", "runc", "cni", "certs.d", "config.toml", "containerd.sock", "containerd.sock.ttrpc", "containerd.log"} {
		if err := os.RemoveAll(filepath.Join(i.cfg.Dir, d)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			mounts = append(mounts, f[4])
		}
	}
	sort.Slice(mounts, func(a, b int) bool { return len(mounts[a]) > len(mounts[b]) })
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

func configTOML(c Config) string {
	d := c.Dir
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %q
`, filepath.Join(d, "root"), filepath.Join(d, "state"), c.socket(), c.socket()+".ttrpc", filepath.Join(d, "opt"),
		c.SandboxImage, filepath.Join(d, "runc"), CNIBinDir, filepath.Join(d, "cni/net.d"), filepath.Join(d, "certs.d"))
}

func cniConflist(c Config) []byte {
	ipam := map[string]any{
		"type":    "host-local",
		"ranges":  [][]map[string]string{{{"subnet": c.Subnet}}},
		"dataDir": filepath.Join(c.Dir, "cni/ipam"),
	}
	if len(c.Routes) > 0 {
		var routes []map[string]string
		for _, r := range c.Routes {
			routes = append(routes, map[string]string{"dst": r, "gw": c.Gateway().String()})
		}
		ipam["routes"] = routes
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       c.NetworkName(),
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      c.Bridge,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam":        ipam,
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, _ := json.MarshalIndent(conf, "", "  ")
	return b
}
