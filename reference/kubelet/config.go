package kubelet

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	cri "k8s.io/cri-api/pkg/apis"
	"k8s.io/utils/clock"
)

// Kubernetes' defaults for the crash-loop back-off.
const (
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffCap  = 5 * time.Minute
)

// The upstream kubelet's defaults for what it does while nothing changes.
const (
	// DefaultResyncInterval is Config.ResyncInterval's default (syncFrequency).
	DefaultResyncInterval = time.Minute
	// DefaultStatusReportInterval is Config.StatusReportInterval's default
	// (nodeStatusReportFrequency).
	DefaultStatusReportInterval = 5 * time.Minute
	// DefaultEventedRelistInterval is Config.EventedRelistInterval's default (the upstream
	// kubelet's evented PLEG relists every 300 s).
	DefaultEventedRelistInterval = 5 * time.Minute
)

// EventedRelistRetry is how long the kubelet waits before reopening a broken container event
// stream (relisting every SyncInterval meanwhile).
const EventedRelistRetry = 5 * time.Second

// DefaultKubeAPIQPS and DefaultKubeAPIBurst rate-limit the kubelet's API client when its
// rest.Config sets no QPS: the upstream kubelet's kubeAPIQPS and kubeAPIBurst defaults.
const (
	DefaultKubeAPIQPS   = 50
	DefaultKubeAPIBurst = 100
)

// Labels and annotations the kubelet puts on CRI objects so that a restarted
// kubelet finds them again.
const (
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelContainerName = "io.kubernetes.container.name"
	LabelNode          = "clusterkit.io/node"
	AnnotRestartCount  = "io.kubernetes.container.restartCount"
	AnnotTermGrace     = "io.kubernetes.pod.terminationGracePeriod"
)

// Config configures one kubelet. NodeName and a runtime (Runtime and Images,
// or RuntimeEndpoint) are required; everything else has a default.
type Config struct {
	// NodeName is the Node this kubelet registers and serves.
	NodeName string
	// Version is the kubeletVersion reported in node.status.nodeInfo (default: the build's,
	// from package version, which the API server reports too).
	Version string
	// Runtime and Images are the CRI services. When nil, Run connects to
	// RuntimeEndpoint (e.g. unix:///run/containerd/containerd.sock).
	Runtime         cri.RuntimeService
	Images          cri.ImageManagerService
	RuntimeEndpoint string
	// RuntimeHandler is passed to RunPodSandbox ("" is the default handler).
	RuntimeHandler string

	// Clock drives back-off, probes, heartbeats (default: the real clock).
	Clock clock.WithTicker
	// BackoffBase and BackoffCap shape the restart back-off: the first
	// restart waits BackoffBase, each later one twice as long, up to
	// BackoffCap (defaults 10 s and 5 min, as in Kubernetes).
	BackoffBase, BackoffCap time.Duration
	// SyncInterval is how often the node's sandboxes and containers are relisted, waking the
	// worker of each pod whose containers changed, and how often a pod that is starting,
	// restarting, probed or timed is re-synced (default 1 s; the upstream kubelet's PLEG
	// relists every second too).
	SyncInterval time.Duration
	// EventedRelistInterval replaces SyncInterval as the relist period while the runtime
	// streams container events (GetContainerEvents), each of which wakes its pod's worker at
	// once (default 5 min, as the upstream kubelet's evented PLEG).
	EventedRelistInterval time.Duration
	// ResyncInterval is how often a settled pod (every container running, nothing probed,
	// waiting or timed) is re-synced all the same, its volumes brought up to date (default
	// 1 min, the upstream kubelet's syncFrequency).
	ResyncInterval time.Duration
	// MaxParallelPodStarts, when positive, bounds the pods that create their sandbox or a
	// container in the runtime at once, the oldest pod first (startgate.go). Default: no
	// bound, as in the upstream kubelet, whose pod workers all start at once.
	MaxParallelPodStarts int
	// StatusInterval is how often node status is computed (default 10 s, the upstream
	// kubelet's nodeStatusUpdateFrequency); it is posted when it changed, else every
	// StatusReportInterval.
	StatusInterval time.Duration
	// StatusReportInterval is how often an unchanged node status is posted all the same
	// (default 5 min, the upstream kubelet's nodeStatusReportFrequency; the node Lease is the
	// heartbeat in between).
	StatusReportInterval time.Duration
	// LeaseDuration is the node Lease's duration (default 40 s); it is
	// renewed every quarter of it.
	LeaseDuration time.Duration

	// Capacity overrides measured capacity entries (cpu, memory, pods,
	// ephemeral-storage): labs with many nodes on one machine set it.
	Capacity corev1.ResourceList
	// Reserved is subtracted from capacity to give allocatable.
	Reserved corev1.ResourceList
	// KubeReserved and SystemReserved are subtracted from capacity to give allocatable, as the
	// kubelet's --kube-reserved and --system-reserved (cpu, memory, ephemeral-storage, pid).
	KubeReserved   corev1.ResourceList
	SystemReserved corev1.ResourceList
	// EvictionHardMemory is the hard eviction threshold memory.available (--eviction-hard
	// memory.available<Q; default DefaultEvictionHardMemory): allocatable memory leaves it out
	// and the node reports MemoryPressure below it. A negative value means no threshold.
	EvictionHardMemory resource.Quantity
	// PodCIDR, when set, is written to the Node's spec.podCIDR(s) when the kubelet registers it
	// (for nodes whose pod network is laid out before the control plane allocates one; the
	// node IPAM controller keeps a preset podCIDR). Kubernetes' kubelet leaves spec.podCIDR to
	// the controller manager.
	PodCIDR string
	// MachineID, SystemUUID and BootID override the node identity the Node reports; empty ones
	// are derived from the host's /etc/machine-id and boot_id, NodeName and RootDir, so that
	// nodes sharing one machine differ and a restarted kubelet reports the same identity.
	MachineID, SystemUUID, BootID string
	// Labels are added to the Node's labels.
	Labels map[string]string
	// NodeIP is the InternalIP (default 127.0.0.1), where the API server
	// reaches the kubelet.
	NodeIP string
	// AdditionalNodeIPs are further InternalIP addresses the Node reports,
	// after NodeIP: e.g. the node's address on its pods' bridge, where a
	// service proxy serves NodePorts.
	AdditionalNodeIPs []string
	// ServerAddress is where the logs/exec server listens (default
	// 127.0.0.1:0, a free port).
	ServerAddress string
	// TLSCertificate, or TLSCertFile and TLSPrivateKeyFile (the kubelet's --tls-cert-file and
	// --tls-private-key-file), is the kubelet API's serving certificate. With one the API
	// serves HTTPS and is closed as kubeadm closes it: callers authenticate by a client
	// certificate signed by the client CA or a bearer token the API server's TokenReview
	// accepts, unauthenticated callers get 401 unless AnonymousAuth, and every request is
	// authorized by AuthorizationMode (default Webhook: a SubjectAccessReview for nodes/proxy,
	// nodes/log … of this node). Without one the API is plain HTTP open to anyone, the
	// setting of in-process tests only.
	TLSCertificate                 *tls.Certificate
	TLSCertFile, TLSPrivateKeyFile string
	// ClientCA (PEM), or ClientCAFile (--client-ca-file), verifies client certificates; their
	// common name is the user and their organizations the groups. None: only bearer tokens.
	ClientCA     []byte
	ClientCAFile string
	// AnonymousAuth lets unauthenticated requests through as system:anonymous, to be
	// authorized (--anonymous-auth; kubeadm sets false, as does the zero value).
	AnonymousAuth bool
	// AuthorizationMode is AuthorizationWebhook ("" too) or AuthorizationAlwaysAllow
	// (--authorization-mode).
	AuthorizationMode string
	// PodLogsDir is the root of the container log files (default
	// /var/log/pods).
	PodLogsDir string
	// RootDir is the kubelet's directory (default /var/lib/kubelet): each pod's volumes live
	// under pods/<uid>/volumes.
	RootDir string
	// VolumeResync is how often a running pod's Secret, ConfigMap, downward API, projected and
	// token volumes are brought up to date (default 10 s).
	VolumeResync time.Duration
	// StaticPodPath is a directory of pod manifests run as static pods;
	// "" disables static pods.
	StaticPodPath string
	// SeccompProfileRoot is the directory of Localhost seccomp profiles
	// (default DefaultSeccompProfileRoot).
	SeccompProfileRoot string
	// SeccompDefault gives containers without a seccomp profile the
	// runtime's default profile instead of Unconfined (kubelet's
	// --seccomp-default; off by default, as in Kubernetes).
	SeccompDefault bool
	// ClusterDNS are the cluster DNS servers pods with dnsPolicy ClusterFirst (and
	// ClusterFirstWithHostNet) resolve with, and ClusterDomain the cluster's domain in their
	// search path (the kubelet's clusterDNS and clusterDomain; kubeadm: 10.96.0.10 and
	// cluster.local). Without ClusterDNS such pods get the node's resolv.conf, as with Default.
	ClusterDNS    []string
	ClusterDomain string
	// ResolvConf is the node's resolv.conf, the base of pods' DNS config (default
	// DefaultResolvConf; --resolv-conf).
	ResolvConf string
	// Logf receives the kubelet's log lines (default: discard).
	Logf func(format string, args ...any)
	// PodDialer opens the HTTP and TCP probe connections to pods. Set it
	// when pod IPs are not reachable from the kubelet's own network
	// namespace (a node whose runtime puts pods behind a bridge in another
	// namespace); nil dials from the kubelet's namespace.
	PodDialer func(ctx context.Context, network, address string) (net.Conn, error)
}

func (c Config) withDefaults() (Config, error) {
	if c.NodeName == "" {
		return c, fmt.Errorf("kubelet: NodeName is required")
	}
	if (c.Runtime == nil || c.Images == nil) && c.RuntimeEndpoint == "" {
		return c, fmt.Errorf("kubelet: a CRI runtime (Runtime and Images) or a RuntimeEndpoint is required")
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffCap <= 0 {
		c.BackoffCap = DefaultBackoffCap
	}
	if c.BackoffCap < c.BackoffBase {
		c.BackoffCap = c.BackoffBase
	}
	if c.ResolvConf == "" {
		c.ResolvConf = DefaultResolvConf
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = time.Second
	}
	if c.EventedRelistInterval <= 0 {
		c.EventedRelistInterval = DefaultEventedRelistInterval
	}
	if c.ResyncInterval <= 0 {
		c.ResyncInterval = DefaultResyncInterval
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = 10 * time.Second
	}
	if c.StatusReportInterval <= 0 {
		c.StatusReportInterval = DefaultStatusReportInterval
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 40 * time.Second
	}
	if c.NodeIP == "" {
		c.NodeIP = "127.0.0.1"
	}
	if c.ServerAddress == "" {
		c.ServerAddress = "127.0.0.1:0"
	}
	if c.PodLogsDir == "" {
		c.PodLogsDir = "/var/log/pods"
	}
	if c.RootDir == "" {
		c.RootDir = "/var/lib/kubelet"
	}
	if c.EvictionHardMemory.IsZero() {
		c.EvictionHardMemory = resource.MustParse(DefaultEvictionHardMemory)
	}
	if c.VolumeResync <= 0 {
		c.VolumeResync = defaultVolumeResync
	}
	if c.SeccompProfileRoot == "" {
		c.SeccompProfileRoot = DefaultSeccompProfileRoot
	}
	switch c.AuthorizationMode {
	case "", AuthorizationWebhook, AuthorizationAlwaysAllow:
	default:
		return c, fmt.Errorf("kubelet: unknown AuthorizationMode %q (%s or %s)", c.AuthorizationMode, AuthorizationWebhook, AuthorizationAlwaysAllow)
	}
	if c.TLSCertFile != "" && c.TLSPrivateKeyFile == "" {
		return c, fmt.Errorf("kubelet: TLSCertFile needs TLSPrivateKeyFile")
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c, nil
}
