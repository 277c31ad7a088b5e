package kubescheduler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/configz"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Options configure one kube-scheduler.
type Options struct {
	// SchedulerName is the profile's schedulerName (default
	// "default-scheduler").
	SchedulerName string
	// Scoring is NodeResourcesFit's scoring strategy (default
	// LeastAllocated, kube-scheduler's default).
	Scoring interfaces.SchedulerScoring
	// QPS and Burst of its client (default 5000 each, as scheduler_perf
	// uses, so the client's rate limit does not bound throughput).
	QPS   float32
	Burst int32
	// PercentageOfNodesToScore (0: kube-scheduler's adaptive default).
	PercentageOfNodesToScore int32
}

// running guards the process-wide state kube-scheduler registers (configz):
// one kube-scheduler at a time per process.
var running sync.Mutex //nolint:gochecknoglobals // kube-scheduler's configz registry is process-wide

// Start runs kube-scheduler against the cluster cfg reaches, with leader
// election off and no serving port. stop cancels it and waits for it to
// return. Only one kube-scheduler runs per process at a time: Start blocks
// until the previous one stopped.
func Start(ctx context.Context, cfg *rest.Config, o Options) (stop func(), err error) {
	if o.SchedulerName == "" {
		o.SchedulerName = "default-scheduler"
	}
	if o.Scoring == "" {
		o.Scoring = interfaces.LeastAllocated
	}
	if o.QPS == 0 {
		o.QPS, o.Burst = 5000, 5000
	}
	dir, err := os.MkdirTemp("", "kube-scheduler-")
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(cfg, kubeconfig); err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: %g
  burst: %d
leaderElection:
  leaderElect: false
percentageOfNodesToScore: %d
profiles:
- schedulerName: %q
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: %s
        resources:
        - name: cpu
          weight: 1
        - name: memory
          weight: 1
`, kubeconfig, o.QPS, o.Burst, o.PercentageOfNodesToScore, o.SchedulerName, o.Scoring)
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		return nil, err
	}

	running.Lock()
	opts := options.NewOptions()
	opts.ConfigFile = config
	opts.SecureServing.BindPort = 0 // no /healthz listener: several schedulers, no ports
	runCtx, cancel := context.WithCancel(context.Background())
	cc, sched, err := app.Setup(runCtx, opts)
	if err != nil {
		cancel()
		configz.Delete("componentconfig")
		running.Unlock()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("setting up kube-scheduler: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx, cc, sched) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) && err.Error() != "finished without leader elect" {
					fmt.Fprintf(os.Stderr, "kube-scheduler: %v\n", err)
				}
			case <-time.After(30 * time.Second):
				fmt.Fprintln(os.Stderr, "kube-scheduler did not stop within 30s")
			}
			configz.Delete("componentconfig")
			_ = os.RemoveAll(dir)
			running.Unlock()
		})
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
