package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/closed"
	"github.com/clusterkit/clusterkit/reference/kubeconfigext"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
	"github.com/clusterkit/clusterkit/reference/pki"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// upOptions are the flags of `clusterkit up`.
type upOptions struct {
	dataDir    string
	kubeconfig string
	port       int
	// address is the IP the API server listens on (default 127.0.0.1).
	address       string
	etcdEndpoints []string
	// etcdTLS are the --etcd-cafile/--etcd-certfile/--etcd-keyfile of --etcd-endpoints.
	etcdTLS etcdClientFiles
	// nodes is how many nodes (kubelets) to run in this process; runtime is
	// "sim", "containerd" or a CRI socket (see up_nodes.go).
	nodes   int
	runtime string
	// scheduler is "reference" or "none"; controllers is the controller
	// manager's --controllers list, or "none".
	scheduler   string
	controllers []string
	// serviceCIDR and nodePortRange are where Services get their
	// ClusterIPs and NodePorts (apiserver.Config).
	serviceCIDR   string
	nodePortRange string
	// compaction is how often the API server compacts etcd.
	compaction time.Duration
	// proxy runs the reference service proxy of each node (private
	// containerd only; see up_proxy.go).
	proxy bool
	// encryptionConfig is kube-apiserver's --encryption-provider-config file; empty generates
	// one in the data dir encrypting Secrets (up_protection.go), "none" encrypts nothing.
	encryptionConfig string
	// profiling serves /debug/pprof/ on the API server (kube-apiserver's --profiling).
	profiling  bool
	watchCache bool
	// podSecurity is the Pod Security level of namespaces without pod-security labels.
	podSecurity string
	// podSecurityExempt are the namespaces Pod Security admission leaves alone.
	podSecurityExempt []string
	// podNetNS maps pod subnets to the network namespaces that reach them (labs).
	podNetNS []string
	// nodeShape is every node's capacity and reservations (nodeshape.go); clusterCIDR and
	// terminatedPodGCThreshold configure the node IPAM controller and the pod GC.
	nodeShape                nodeShape
	clusterCIDR              string
	terminatedPodGCThreshold int
	// controlPlaneNode runs the control plane as static pods of a control-plane node
	// (up_controlplane.go) instead of in the background.
	controlPlaneNode bool
	// extraComponents join the control plane's static pods (tests: a component that fails).
	extraComponents []upComponent
	// nodeDeletionGrace is the node lifecycle controller's DeleteAfter (0: never).
	nodeDeletionGrace time.Duration
}

// newUpCommand returns `clusterkit up`: embedded etcd and the API server in one process.
func newUpCommand() *cobra.Command {
	home, _ := os.UserHomeDir()
	o := &upOptions{
		dataDir:    filepath.Join(home, ".clusterkit", "data"),
		kubeconfig: filepath.Join(home, ".clusterkit", "kubeconfig"),
		port:       6443,
		nodes:      1,
		runtime:    localnode.Simulated,
		scheduler:  "reference",
		proxy:      true,
		profiling:  true,
		watchCache: true,
		// As kubeadm: the control plane as static pods of a tainted control-plane node.
		controlPlaneNode: true,
		podSecurity:      defaultPodSecurity,
		// As the exemptions of a PodSecurityConfiguration that defaults to baseline usually
		// are: the control plane's static pods (host network, host paths) live there.
		podSecurityExempt: []string{"kube-system"},
	}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster in this process: etcd, API server, scheduler, controllers, nodes",
		Long: `up starts an embedded etcd (or connects to --etcd-endpoints), a Kubernetes-compatible
API server on 127.0.0.1 (HTTPS only, with a cluster CA and certificates it makes in
DATA-DIR/pki and keeps), the reference scheduler and controller manager, and --nodes
kubelets on the simulated CRI runtime (nothing to install) or on a real containerd
(--runtime containerd). It writes an admin kubeconfig (client certificate of
kubernetes-admin in system:masters), prints the export KUBECONFIG=…
line, and serves until interrupted (Ctrl-C). Restarting on the same --data-dir keeps
every object.

Swap a component for yours: --scheduler none (run your scheduler against the
kubeconfig), --controllers '*,-replicaset' (run your ReplicaSet controller).`,
		Example: `  clusterkit up --port 0 --data-dir /tmp/ck --kubeconfig /tmp/ck.kubeconfig
  clusterkit up --nodes 3
  clusterkit up --runtime containerd      # real containers (root; scripts/install-containerd.sh)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runUp(ctx, o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", o.dataDir, "directory of the embedded etcd's data")
	f.StringVar(&o.kubeconfig, "kubeconfig", o.kubeconfig, "where to write the admin kubeconfig")
	f.IntVar(&o.port, "port", o.port, "API server port on --address (0 picks a free port)")
	f.StringVar(&o.address, "address", "127.0.0.1", "IP address the API server listens on (the kubeconfig names it); HTTPS only; the certificate names it, the host name and localhost")
	f.StringSliceVar(&o.etcdEndpoints, "etcd-endpoints", nil, "use an external etcd cluster instead of the embedded one (which serves HTTPS only, to clients with a certificate of DATA-DIR/pki/etcd/ca)")
	o.etcdTLS.addFlags(f)
	f.StringVar(&o.scheduler, "scheduler", o.scheduler, `"reference" runs clusterkit's scheduler in this process; "none" leaves scheduling to yours (see docs/scheduler.md)`)
	f.StringSliceVar(&o.controllers, "controllers", []string{"*"}, `controllers to run in this process, as kube-controller-manager's --controllers ("*", "*,-replicaset"), or "none"`)
	f.StringVar(&o.serviceCIDR, "service-cidr", apiserver.DefaultServiceCIDR, "IPv4 range Service ClusterIPs are allocated from")
	f.StringVar(&o.nodePortRange, "node-port-range", apiserver.DefaultNodePortRange, "range Service NodePorts are allocated from")
	f.DurationVar(&o.compaction, "etcd-compaction-interval", apiserver.DefaultCompactionInterval, "how often the API server compacts the store, keeping one interval of history (kube-apiserver's flag; 0 never)")
	f.StringSliceVar(&o.podNetNS, "pod-network-netns", nil, "CIDR=NETNS-PATH: the API server reaches pod addresses in CIDR (admission webhooks) from inside that network namespace; `clusterkit lab` passes one per node, whose pod subnet this process has no route to")
	f.BoolVar(&o.proxy, "proxy", o.proxy, `run the service proxy (nftables, a table per node) with --runtime containerd, so ClusterIPs answer from pods and NodePorts on the pods' bridge gateway (10.90.0.1); the simulated runtime has no kernel path to program, so there it is skipped`)
	f.StringVar(&o.encryptionConfig, "encryption-provider-config", "", `an apiserver.config.k8s.io/v1 EncryptionConfiguration (aescbc, aesgcm, secretbox, identity) for the values the API server stores, as kube-apiserver's flag; empty: generate <data-dir>/`+encryptionConfigFile+` encrypting Secrets with aescbc under a random key (kept there, 0600; lose it and the Secrets are lost); "none": store everything unencrypted`)
	f.BoolVar(&o.watchCache, "watch-cache", o.watchCache, "answer lists from a watch cache per resource (every object in memory, kept by the resource's store watch), as kube-apiserver's --watch-cache; false reads every list from the store")
	f.BoolVar(&o.profiling, "profiling", o.profiling, `serve Go's profiles of this whole process (API server, etcd, scheduler, controllers, nodes) at /debug/pprof/ on the API server, to cluster administrators, as kube-apiserver's --profiling: e.g. kubectl get --raw '/debug/pprof/profile?seconds=30' > cpu.pprof && go tool pprof cpu.pprof`)
	f.StringVar(&o.podSecurity, "pod-security-default", o.podSecurity, `Pod Security level (privileged, baseline, restricted) enforced, audited and warned about in namespaces without pod-security.kubernetes.io labels`)
	f.StringSliceVar(&o.podSecurityExempt, "pod-security-exempt-namespaces", o.podSecurityExempt, `namespaces Pod Security admission exempts (a PodSecurityConfiguration's exemptions.namespaces): the control plane's static pods use the host network and host paths; "" exempts none`)
	f.IntVar(&o.nodes, "nodes", o.nodes, "number of worker nodes (kubelets) to run in this process (0: control plane only)")
	f.BoolVar(&o.controlPlaneNode, "control-plane-node", o.controlPlaneNode, `run the control plane as a kubeadm cluster does: static pods (etcd, kube-apiserver, kube-scheduler, kube-controller-manager, mirror pods in kube-system) of a node `+upControlPlaneNodeName()+` tainted node-role.kubernetes.io/control-plane:NoSchedule, whose kubelet runs this process's components as its containers (docs/kubectl-tour.md); false: no such node, the scheduler and controller manager run in the background`)
	f.StringVar(&o.runtime, "runtime", o.runtime, `container runtime of the nodes: "sim" (simulated, nothing to install), "containerd" (a private containerd started here, needs root and scripts/install-containerd.sh) or the CRI socket of a running runtime, unix:///path`)
	addClusterShapeFlags(f, &o.nodeShape, &o.clusterCIDR, &o.terminatedPodGCThreshold)
	addNodeDeletionFlag(f, &o.nodeDeletionGrace)
	return cmd
}

func runUp(ctx context.Context, o *upOptions, log interface{ Write([]byte) (int, error) }) error {
	say := func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }
	start := time.Now()
	if _, err := raiseOpenFileLimit(); err != nil {
		say("%v", err)
	}
	cfg, err := upEtcdConfig(o)
	if err != nil {
		return err
	}
	if len(o.etcdEndpoints) > 0 {
		say("connecting to etcd at %s", strings.Join(o.etcdEndpoints, ","))
	} else {
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return fmt.Errorf("creating data dir: %w", err)
		}
		say("starting embedded etcd (data dir %s)", o.dataDir)
	}
	store, err := etcdstore.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("opening etcd: %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			say("closing etcd: %v", err)
		}
	}()
	address := o.address
	if address == "" {
		address = "127.0.0.1"
	}
	bundle, err := ensureUpPKI(o, address)
	if err != nil {
		return err
	}
	tlsConfig, err := bundle.ServingTLSConfig()
	if err != nil {
		return err
	}
	// Encryption at rest and Pod Security (up_protection.go), under kubeadm's closed
	// composition: client certificates and ServiceAccount tokens, Node and RBAC authorization,
	// NodeRestriction.
	var protection apiserver.Config
	if err := upProtection(o, &protection, say); err != nil {
		return err
	}
	webhookDial, err := podNetworkDialer(o.podNetNS)
	if err != nil {
		return err
	}
	comp, err := closed.New(closed.Options{
		PKI: bundle, Store: store, Encryption: protection.Encryption,
		Admission:   []admission.Interface{protection.Admission},
		WebhookDial: webhookDial,
	})
	if err != nil {
		return err
	}
	kubeletClient, err := bundle.APIServerKubeletClient.TLSCertificate()
	if err != nil {
		return fmt.Errorf("the API server's kubelet client certificate: %w", err)
	}
	srvCfg := apiserver.Config{
		Store:         store,
		ErrorLog:      func(format string, args ...any) { say(format, args...) },
		ServiceCIDR:   o.serviceCIDR,
		NodePortRange: o.nodePortRange,
		TLS:           tlsConfig,
		// As kube-apiserver: old revisions go, so watches and chunked lists from them get 410.
		CompactionInterval: o.compaction,
		Profiling:          o.profiling,
		NoWatchCache:       !o.watchCache,
		// Kubelets serve HTTPS with certificates of the cluster CA and admit the API server by
		// its kube-apiserver-kubelet-client certificate (kube-apiserver's --kubelet-*).
		NodeConnection: apiserver.KubeletTLSConnection(bundle.CAPool(), kubeletClient),
	}
	comp.Configure(&srvCfg)
	srv, err := apiserver.New(srvCfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	url := "https://" + ln.Addr().String()
	acc := upAccess{url: url, pki: bundle}
	if err := srv.Bootstrap(ctx); err != nil {
		_ = ln.Close()
		return fmt.Errorf("bootstrapping the API server: %w", err)
	}
	if err := writeUpKubeconfig(o, acc, upRuntimeSocket(o)); err != nil {
		_ = ln.Close()
		return err
	}
	// The API server outlives the signal: on Ctrl-C the nodes and the control plane stop
	// first, while it still answers their last writes (status, Events), then it stops — as a
	// node's shutdown stops the kubelet before the static pods' API server.
	apiCtx, stopAPI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAPI()
	serveCtx, serveEnded := context.WithCancel(apiCtx)
	defer serveEnded()
	served := make(chan error, 1)
	go func() {
		defer serveEnded()
		served <- srv.Serve(apiCtx, ln)
	}()
	// RBAC's bootstrap policy and the authorizers' caches, before any component calls.
	if err := comp.Start(serveCtx, acc.rest(bundle.Admin)); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		select {
		case serr := <-served:
			if serr != nil && !errors.Is(serr, http.ErrServerClosed) {
				return serr
			}
		default:
		}
		return fmt.Errorf("starting RBAC and the Node authorizer: %w", err)
	}
	say("API server listening on %s (ready in %s; cluster CA and certificates in %s)", url, time.Since(start).Round(time.Millisecond), bundle.Dir)
	say("kubeconfig written to %s; to use it:", o.kubeconfig)
	say("  export KUBECONFIG=%s", o.kubeconfig)
	serving := upServing{apiDone: serveCtx.Done(), apiURL: url}
	if e := store.Embedded(); e != nil {
		serving.etcdDone, serving.etcdEndpoints = e.Done(), e.Endpoints()
	}
	stopControl, err := startUpControlPlane(ctx, o, acc, serving, say)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting: a stop, not a failure
		}
		return err
	}
	stopControl = sync.OnceFunc(stopControl)
	defer stopControl()
	stopNodes := sync.OnceFunc(startUpNodes(ctx, o, acc, say))
	defer stopNodes()
	say("press Ctrl-C to stop")
	select {
	case err = <-served:
		say("the API server stopped: shutting down")
	case <-ctx.Done():
		say("shutting down: the nodes, then the control plane, then the API server")
		stopNodes()
		stopControl()
		stopAPI()
		err = <-served
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeUpKubeconfig writes up's admin kubeconfig (kubernetes-admin's client certificate, the
// cluster CA) for the API server at acc.url. With
// containerd sockets (the nodes' runtime), its cluster entry records them
// (kubeconfigext), so `clusterkit conformance upstream` finds where to load
// images from the kubeconfig alone.
func writeUpKubeconfig(o *upOptions, acc upAccess, containerd []string) error {
	cfg := apiserver.ClientKubeconfig(acc.url, acc.pki.CA.CertPEM, pki.AdminUser, acc.pki.Admin.CertPEM, acc.pki.Admin.KeyPEM)
	if len(containerd) > 0 {
		dataDir, err := filepath.Abs(o.dataDir)
		if err != nil {
			return err
		}
		info := kubeconfigext.Cluster{Kind: kubeconfigext.KindUp, DataDir: dataDir, ContainerdAddresses: containerd}
		if err := kubeconfigext.Set(cfg.Clusters[apiserver.KubeconfigContext], info); err != nil {
			return err
		}
	}
	return apiserver.WriteKubeconfigFile(o.kubeconfig, cfg)
}
