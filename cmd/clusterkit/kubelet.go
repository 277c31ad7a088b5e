package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// kubeletOptions are the flags of `clusterkit kubelet`.
type kubeletOptions struct {
	kubeconfig      string
	nodeName        string
	runtimeEndpoint string
	dir             string
	address         string
	nodeIP          string
	staticPodPath   string
	capacity        string
	reserved        string
	shape           nodeShape
	podCIDR         string
	backoffBase     time.Duration
	podSubnet       int
	// The kubelet API's serving certificate, client CA and access (the real kubelet's flags).
	tlsCertFile       string
	tlsPrivateKeyFile string
	clientCAFile      string
	anonymousAuth     bool
	authorizationMode string
}

// newKubeletCommand returns `clusterkit kubelet`: one node agent.
func newKubeletCommand() *cobra.Command {
	host, _ := os.Hostname()
	o := &kubeletOptions{nodeName: strings.ToLower(host), runtimeEndpoint: localnode.Simulated, address: "127.0.0.1:0",
		authorizationMode: kubelet.AuthorizationWebhook}
	cmd := &cobra.Command{
		Use:   "kubelet",
		Short: "Run a kubelet (node agent) against a cluster, on containerd or the simulated runtime",
		Long: `kubelet registers a Node with the cluster of --kubeconfig, keeps its Lease and status fresh,
and runs the pods bound to it through a CRI runtime: --runtime-endpoint unix:///run/containerd/containerd.sock
for real containers, or "sim" (the default) for clusterkit's simulated runtime in this process.
Logs and exec are served on --address (loopback) and reached through the API server.
With --tls-cert-file and --tls-private-key-file (the node's serving certificate) the kubelet API
serves HTTPS closed as kubeadm's kubelet: client certificates signed by --client-ca-file or bearer
tokens (TokenReview) authenticate, anonymous requests get 401 (--anonymous-auth=false), and every
request is authorized by a SubjectAccessReview on nodes/proxy, nodes/log … (--authorization-mode
Webhook). Without a certificate it serves plain HTTP to anyone on --address.
Stopping it (Ctrl-C) leaves the containers running; the next start adopts them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runKubelet(ctx, o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.nodeName, "node-name", o.nodeName, "name of the Node to register")
	f.StringVar(&o.runtimeEndpoint, "runtime-endpoint", o.runtimeEndpoint, `CRI endpoint (unix:///path.sock), or "sim" for the simulated runtime`)
	f.StringVar(&o.dir, "root-dir", "", "directory of pod logs and the runtime socket (default ~/.clusterkit/kubelet/NODE)")
	f.StringVar(&o.address, "address", o.address, "listen address of the logs/exec server")
	f.StringVar(&o.nodeIP, "node-ip", "127.0.0.1", "InternalIP of the node (where the API server reaches the kubelet)")
	f.StringVar(&o.staticPodPath, "pod-manifest-path", "", "directory of static pod manifests (default ROOT/manifests)")
	f.StringVar(&o.capacity, "capacity", "", "override measured capacity, e.g. cpu=4,memory=8Gi,pods=110")
	f.StringVar(&o.reserved, "reserved", "", "resources reserved from allocatable, e.g. cpu=100m,memory=256Mi")
	o.shape.addReservationFlags(f)
	f.StringVar(&o.podCIDR, "pod-cidr", "", "pod CIDR written to the Node's spec.podCIDR when it registers (the node IPAM controller keeps it); empty: left to the controller")
	f.DurationVar(&o.backoffBase, "backoff-base", kubelet.DefaultBackoffBase, "first crash-loop restart delay (doubling up to 30x, at most 5m)")
	f.IntVar(&o.podSubnet, "sim-subnet", 0, "index of the simulated runtime's loopback pod subnet (distinct per simulated node)")
	f.StringVar(&o.tlsCertFile, "tls-cert-file", "", "serving certificate of the kubelet API (PEM); without it the API is plain HTTP open to anyone")
	f.StringVar(&o.tlsPrivateKeyFile, "tls-private-key-file", "", "private key of --tls-cert-file")
	f.StringVar(&o.clientCAFile, "client-ca-file", "", "CA bundle verifying the client certificates of kubelet API callers (the API server's kubelet client)")
	f.BoolVar(&o.anonymousAuth, "anonymous-auth", false, "let unauthenticated kubelet API requests through as system:anonymous (with --tls-cert-file)")
	f.StringVar(&o.authorizationMode, "authorization-mode", o.authorizationMode, `authorization of kubelet API requests with --tls-cert-file: "Webhook" (SubjectAccessReview to the API server) or "AlwaysAllow"`)
	return cmd
}

// parseResources parses "cpu=4,memory=8Gi".
func parseResources(s string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not NAME=QUANTITY", kv)
		}
		q, err := resource.ParseQuantity(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[corev1.ResourceName(strings.TrimSpace(k))] = q
	}
	return out, nil
}

func loadRESTConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

func runKubelet(ctx context.Context, o *kubeletOptions, log interface{ Write([]byte) (int, error) }) error {
	say := func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }
	rc, err := loadRESTConfig(o.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	capacity, err := parseResources(o.capacity)
	if err != nil {
		return fmt.Errorf("--capacity: %w", err)
	}
	reserved, err := parseResources(o.reserved)
	if err != nil {
		return fmt.Errorf("--reserved: %w", err)
	}
	dir := o.dir
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".clusterkit", "kubelet", o.nodeName)
	}
	kc := kubelet.Config{
		BackoffBase: o.backoffBase, BackoffCap: min(30*o.backoffBase, kubelet.DefaultBackoffCap),
		Capacity: capacity, Reserved: reserved, NodeIP: o.nodeIP, ServerAddress: o.address,
		StaticPodPath: o.staticPodPath,
		Logf:          func(format string, args ...any) { say(format, args...) },
		TLSCertFile:   o.tlsCertFile, TLSPrivateKeyFile: o.tlsPrivateKeyFile, ClientCAFile: o.clientCAFile,
		AnonymousAuth: o.anonymousAuth, AuthorizationMode: o.authorizationMode,
		PodCIDR: o.podCIDR,
	}
	if err := o.shape.apply(&kc); err != nil {
		return err
	}
	if (o.tlsCertFile == "") != (o.tlsPrivateKeyFile == "") {
		return fmt.Errorf("--tls-cert-file and --tls-private-key-file go together")
	}
	if o.backoffBase == kubelet.DefaultBackoffBase {
		kc.BackoffCap = kubelet.DefaultBackoffCap
	}
	node, err := localnode.Start(ctx, rc, localnode.Config{
		Name: o.nodeName, Dir: dir, Runtime: o.runtimeEndpoint, Kubelet: kc,
		Sim: simruntime.Options{PodSubnet: simruntime.NodeSubnet(o.podSubnet)},
	})
	if err != nil {
		return err
	}
	api := "plain HTTP, open to anyone: pass --tls-cert-file to close it"
	if o.tlsCertFile != "" {
		api = "HTTPS, " + o.authorizationMode + " authorization"
	}
	say("kubelet for node %s running on %s (logs/exec on port %d, %s); Ctrl-C stops it, containers keep running",
		o.nodeName, o.runtimeEndpoint, node.Kubelet().Port(), api)
	<-ctx.Done()
	if o.runtimeEndpoint == localnode.Simulated {
		say("stopping the kubelet and the simulated runtime")
	} else {
		say("stopping the kubelet (containers keep running)")
	}
	node.Close()
	return nil
}
