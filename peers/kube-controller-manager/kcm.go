package kubecontrollermanager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/configz"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// Version is the Kubernetes release this peer links.
const Version = "v1.37.2"

// Options configure one kube-controller-manager.
type Options struct {
	// Controllers is --controllers (default "*": every controller enabled by default; the
	// cloud controllers are no longer part of kube-controller-manager).
	Controllers []string
	// NodeMonitorGracePeriod is --node-monitor-grace-period (0: kube-controller-manager's
	// default, 50 s).
	NodeMonitorGracePeriod time.Duration
	// ClusterCIDR, when set, turns on the node IPAM controller's range allocator
	// (--allocate-node-cidrs --cluster-cidr).
	ClusterCIDR string
	// ExtraFlags are appended after the flags above (a later flag wins).
	ExtraFlags []string
}

// running guards the process-wide state kube-controller-manager registers (configz): one
// kube-controller-manager at a time per process.
var running sync.Mutex //nolint:gochecknoglobals // kube-controller-manager's configz registry is process-wide

// Flags returns the kube-controller-manager flags Start runs it with for a kubeconfig file:
// every controller enabled by default, as kubeadm's --controllers=*, but a single instance
// without leader election or a serving port, and without kubeadm's per-controller service
// account credentials, token signing key and root CA file (the API server it talks to is
// clusterkit's open one over plain HTTP, so kube-root-ca.crt holds an empty ca.crt).
func Flags(kubeconfig string, o Options) []string {
	controllers := "*"
	if len(o.Controllers) > 0 {
		controllers = strings.Join(o.Controllers, ",")
	}
	flags := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--controllers=" + controllers,
	}
	if o.NodeMonitorGracePeriod > 0 {
		flags = append(flags, "--node-monitor-grace-period="+o.NodeMonitorGracePeriod.String())
	}
	if o.ClusterCIDR != "" {
		flags = append(flags, "--allocate-node-cidrs=true", "--cluster-cidr="+o.ClusterCIDR)
	}
	return append(flags, o.ExtraFlags...)
}

// Start runs kube-controller-manager against the cluster cfg reaches. stop cancels it and
// waits for its controllers to return (kube-controller-manager gives them 10 s). Only one
// kube-controller-manager runs per process at a time: Start blocks until the previous one
// stopped.
func Start(ctx context.Context, cfg *rest.Config, o Options) (stop func() error, err error) {
	dir, err := os.MkdirTemp("", "kube-controller-manager-")
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(cfg, kubeconfig); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("writing kube-controller-manager's kubeconfig: %w", err)
	}

	running.Lock()
	fail := func(err error) (func() error, error) {
		configz.Delete(app.ConfigzName)
		running.Unlock()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s, err := options.NewKubeControllerManagerOptions()
	if err != nil {
		return fail(fmt.Errorf("kube-controller-manager options: %w", err))
	}
	known, disabled, aliases := app.KnownControllers(), app.ControllersDisabledByDefault(), app.ControllerAliases()
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range s.Flags(known, disabled, aliases).FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(Flags(kubeconfig, o)); err != nil {
		return fail(fmt.Errorf("kube-controller-manager flags: %w", err))
	}
	c, err := s.Config(ctx, known, disabled, aliases)
	if err != nil {
		return fail(fmt.Errorf("configuring kube-controller-manager: %w", err))
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx, c.Complete()) }()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) {
					stopErr = fmt.Errorf("kube-controller-manager: %w", err)
				}
			case <-time.After(30 * time.Second):
				stopErr = errors.New("kube-controller-manager did not stop within 30s")
			}
			configz.Delete(app.ConfigzName)
			_ = os.RemoveAll(dir)
			running.Unlock()
		})
		return stopErr
	}
	return stop, nil
}

func writeKubeconfig(cfg *rest.Config, path string) error {
	c := clientcmdapi.NewConfig()
	c.Clusters["c"] = &clientcmdapi.Cluster{Server: cfg.Host, InsecureSkipTLSVerify: cfg.Insecure,
		CertificateAuthorityData: cfg.CAData, CertificateAuthority: cfg.CAFile}
	c.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData,
		ClientCertificate: cfg.CertFile, ClientKey: cfg.KeyFile, Username: cfg.Username, Password: cfg.Password}
	c.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	c.CurrentContext = "c"
	return clientcmd.WriteToFile(*c, path)
}
