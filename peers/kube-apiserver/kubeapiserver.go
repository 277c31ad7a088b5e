package kubeapiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	"k8s.io/kubernetes/pkg/controller/clusterroleaggregation"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver/encryption"
	"github.com/clusterkit/clusterkit/reference/pki"
	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// Version is the Kubernetes release this peer links.
const Version = "v1.37.2"

// Issuer is the ServiceAccount token issuer, kubeadm's default for the cluster domain
// cluster.local.
const Issuer = "https://kubernetes.default.svc.cluster.local"

// StoragePrefix is kube-apiserver's default etcd key prefix (--etcd-prefix).
const StoragePrefix = "/registry"

// aggregationServiceAccount is the ServiceAccount kube-controller-manager's clusterrole
// aggregation controller runs as (--use-service-account-credentials, kubeadm's default).
const aggregationServiceAccount = "clusterrole-aggregation-controller"

// Options configure a Server.
type Options struct {
	// Dir holds the PKI, the encryption configuration and etcd's data; it must exist and
	// the caller removes it. Required.
	Dir string
	// ExtraFlags are kube-apiserver flags appended after the kubeadm defaults (a later
	// flag wins).
	ExtraFlags []string
	// NoAggregationController leaves out kube-controller-manager's ClusterRole aggregation
	// controller, which Start runs by default next to the API server as a kubeadm control
	// plane does.
	NoAggregationController bool
}

// Server is a running kube-apiserver with its etcd.
type Server struct {
	// URL is the API server's https address.
	URL string
	// Bundle is the cluster's PKI (CA, serving and client certificates, ServiceAccount key).
	Bundle *pki.Bundle
	// Flags are the kube-apiserver flags the server was started with.
	Flags []string

	etcd   *etcdstore.Embedded
	cancel context.CancelFunc
	done   chan error
}

// Flags returns the kube-apiserver flags of a kubeadm control plane (kubeadm's
// kube-apiserver static Pod manifest, v1.37) for the bundle's files, etcd at etcdURL and the
// encryption configuration at encryptionConfig. The serving address is not among them: Start
// serves on a loopback listener it opens itself.
func Flags(b *pki.Bundle, etcdURL, encryptionConfig string) []string {
	flags := []string{
		"--allow-privileged=true",
		"--anonymous-auth=true",
		"--authorization-mode=Node,RBAC",
		"--client-ca-file=" + b.CA.CertFile,
		"--enable-admission-plugins=NodeRestriction",
		"--enable-bootstrap-token-auth=true",
		"--encryption-provider-config=" + encryptionConfig,
		"--etcd-servers=" + etcdURL,
		"--kubelet-client-certificate=" + b.APIServerKubeletClient.CertFile,
		"--kubelet-client-key=" + b.APIServerKubeletClient.KeyFile,
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
		"--service-account-issuer=" + Issuer,
		"--service-account-key-file=" + b.ServiceAccountPublicKeyFile,
		"--service-account-signing-key-file=" + b.ServiceAccountKeyFile,
		"--service-cluster-ip-range=" + pki.DefaultServiceCIDR,
		"--tls-cert-file=" + b.APIServer.CertFile,
		"--tls-private-key-file=" + b.APIServer.KeyFile,
	}
	// kubeadm advertises the node's address. Endpoints validation refuses a loopback one, so
	// without a non-loopback address the kubernetes Service gets no endpoints. The address is
	// only published, never dialled: the server listens on loopback.
	if ip := advertiseAddress(); ip != nil {
		return append(flags, "--advertise-address="+ip.String())
	}
	return append(flags, "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none")
}

// advertiseAddress returns the host's first global unicast IPv4 address, or nil.
func advertiseAddress() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			return n.IP
		}
	}
	return nil
}

// Start runs etcd and kube-apiserver in-process until ctx ends or Stop is called, and returns
// once /readyz answers 200 to the administrator. Start changes process-wide state of
// kube-apiserver (its default feature gate and component registry): call it once per process.
func Start(ctx context.Context, opts Options) (srv *Server, err error) {
	if opts.Dir == "" {
		return nil, errors.New("kube-apiserver: Options.Dir is required")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver: listening: %w", err)
	}
	url := "https://" + ln.Addr().String()
	bundle, err := pki.Ensure(filepath.Join(opts.Dir, "pki"), pki.Options{})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("kube-apiserver: PKI: %w", err)
	}
	encryptionConfig := filepath.Join(opts.Dir, "encryption-config.yaml")
	if err := encryption.EnsureDefault(encryptionConfig); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("kube-apiserver: encryption configuration: %w", err)
	}
	etcd, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{
		DataDir: filepath.Join(opts.Dir, "etcd"), UnsafeNoFsync: true,
	})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("kube-apiserver: etcd: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	s := &Server{URL: url, Bundle: bundle, etcd: etcd, cancel: cancel, done: make(chan error, 1)}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()

	s.Flags = append(Flags(bundle, "http://"+etcd.Endpoints()[0], encryptionConfig), opts.ExtraFlags...)
	completed, err := complete(runCtx, s.Flags, ln)
	if err != nil {
		_ = ln.Close()
		close(s.done)
		return nil, err
	}
	go func() {
		defer close(s.done)
		if err := app.Run(runCtx, completed); err != nil {
			s.done <- err
		}
	}()
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	if !opts.NoAggregationController {
		if err := s.runAggregationController(runCtx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// complete parses kube-apiserver's flags as its command does and completes and validates
// the options, serving on ln.
func complete(ctx context.Context, flags []string, ln net.Listener) (options.CompletedOptions, error) {
	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(flags); err != nil {
		return options.CompletedOptions{}, fmt.Errorf("kube-apiserver: flags: %w", err)
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return options.CompletedOptions{}, fmt.Errorf("kube-apiserver: feature gates: %w", err)
	}
	s.SecureServing.Listener = ln
	s.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	s.SecureServing.BindAddress = net.IPv4(127, 0, 0, 1)
	completed, err := s.Complete(ctx)
	if err != nil {
		return options.CompletedOptions{}, fmt.Errorf("kube-apiserver: options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return options.CompletedOptions{}, fmt.Errorf("kube-apiserver: options: %w", utilerrors.NewAggregate(errs))
	}
	return completed, nil
}

// waitReady polls /readyz as the administrator until it answers 200, the server fails or a
// minute passes.
func (s *Server) waitReady(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(s.Admin())
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err, ok := <-s.done:
			if !ok {
				return false, errors.New("kube-apiserver stopped")
			}
			return false, fmt.Errorf("kube-apiserver failed: %w", err)
		default:
		}
		var status int
		last = client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status).Error()
		return status == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver: not ready (last answer: %v): %w", last, err)
	}
	return nil
}

// runAggregationController runs kube-controller-manager's ClusterRole aggregation controller
// as kube-controller-manager does with --use-service-account-credentials: with a token of its
// own ServiceAccount in kube-system, authorized by the bootstrap binding
// system:controller:clusterrole-aggregation-controller.
func (s *Server) runAggregationController(ctx context.Context) error {
	admin, err := kubernetes.NewForConfig(s.Admin())
	if err != nil {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: aggregationServiceAccount, Namespace: metav1.NamespaceSystem}}
	if _, err := admin.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kube-apiserver: the aggregation controller's ServiceAccount: %w", err)
	}
	expiry := int64(24 * 3600)
	tr, err := admin.CoreV1().ServiceAccounts(sa.Namespace).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("kube-apiserver: the aggregation controller's token: %w", err)
	}
	cfg := rest.AnonymousClientConfig(s.Admin())
	cfg.BearerToken = tr.Status.Token
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	ctl := clusterroleaggregation.NewClusterRoleAggregation(factory.Rbac().V1().ClusterRoles(), client.RbacV1())
	factory.Start(ctx.Done())
	go ctl.Run(ctx, 1)
	return nil
}

// Admin returns a client configuration for kubernetes-admin (system:masters) by client
// certificate, as kubeadm's admin.conf.
func (s *Server) Admin() *rest.Config {
	cfg := s.Bundle.RESTConfig(s.URL, s.Bundle.Admin)
	cfg.QPS = -1
	return cfg
}

// StoredValue returns the bytes etcd holds for one object under kube-apiserver's key layout
// (StoragePrefix/RESOURCE[/NAMESPACE]/NAME; Services under services/specs).
func (s *Server) StoredValue(ctx context.Context, resource, namespace, name string) ([]byte, error) {
	client, err := s.etcd.Client()
	if err != nil {
		return nil, err
	}
	dir := resource
	if resource == "services" {
		dir = "services/specs"
	}
	key := strings.Join([]string{StoragePrefix, dir, namespace, name}, "/")
	if namespace == "" {
		key = strings.Join([]string{StoragePrefix, dir, name}, "/")
	}
	resp, err := client.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("etcd get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("etcd: no key %s", key)
	}
	return resp.Kvs[0].Value, nil
}

// EtcdClient returns a client of the server's etcd (closed by Stop).
func (s *Server) EtcdClient() (*clientv3.Client, error) { return s.etcd.Client() }

// AuthHarness is the server for the conformance suite's auth specs: the administrator and the
// stored bytes (StoredBytes).
func (s *Server) AuthHarness() conformance.AuthHarness {
	return conformance.AuthHarness{
		Name:           "kube-apiserver " + Version,
		CanReadStorage: true,
		// The auth.admission specs are not declared here yet: against this kube-apiserver the
		// spec's create of its webhook configuration hung for a minute (context deadline
		// exceeded), which is still to be understood before they count as fair.
		EnforcesWebhooks: false,
		Connect: func(context.Context, conformance.Cleaner) (conformance.AuthServerUnderTest, error) {
			return conformance.AuthServerUnderTest{Admin: s.Admin(), StoredValue: s.StoredValue}, nil
		},
	}
}

// APIHarness is the server for the conformance suite's api specs, as the administrator. It
// does not declare Compaction: compacting etcd does not reach kube-apiserver's watch cache,
// which keeps answering watches from resourceVersions inside its own window, so
// api.watch.expired is skipped. Compact (etcd at its current revision) is still set.
func (s *Server) APIHarness() conformance.APIHarness {
	return conformance.APIHarness{
		Name: "kube-apiserver " + Version,
		Connect: func(context.Context, conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			return conformance.APIServerUnderTest{Config: s.Admin(), Compact: s.compact}, nil
		},
	}
}

// compact compacts etcd's history up to its current revision.
func (s *Server) compact(ctx context.Context) error {
	client, err := s.etcd.Client()
	if err != nil {
		return err
	}
	resp, err := client.Get(ctx, "compact-probe")
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	if _, err := client.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		return fmt.Errorf("etcd compact at %d: %w", resp.Header.Revision, err)
	}
	return nil
}

// Stop stops the API server, waits for it to shut down, then stops etcd.
func (s *Server) Stop() error {
	s.cancel()
	var errs []error
	select {
	case err := <-s.done:
		errs = append(errs, err)
	case <-time.After(time.Minute):
		errs = append(errs, errors.New("kube-apiserver: not stopped after a minute"))
	}
	errs = append(errs, s.etcd.Close())
	return errors.Join(errs...)
}

// Kubeconfig writes an admin kubeconfig for the server to path (0600), as kubeadm's
// admin.conf.
func (s *Server) Kubeconfig(path string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kube-apiserver"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthority: s.Bundle.CA.CertFile}
	cfg.AuthInfos["kubernetes-admin"] = &clientcmdapi.AuthInfo{ClientCertificate: s.Bundle.Admin.CertFile, ClientKey: s.Bundle.Admin.KeyFile}
	cfg.Contexts["admin"] = &clientcmdapi.Context{Cluster: "kube-apiserver", AuthInfo: "kubernetes-admin"}
	cfg.CurrentContext = "admin"
	return clientcmd.WriteToFile(*cfg, path)
}
