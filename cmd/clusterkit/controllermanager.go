package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/reference/controllers"
	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"
	"github.com/clusterkit/clusterkit/reference/controllers/nodelifecycle"
	"github.com/clusterkit/clusterkit/reference/controllers/podgc"
)

// controllerManagerOptions are the flags of `clusterkit controller-manager`.
type controllerManagerOptions struct {
	kubeconfig        string
	controllers       []string
	workers           int
	nodeGrace         time.Duration
	monitorPeriod     time.Duration
	tolerationSeconds int64
	verbose           bool
	clusterCIDR       string
	gcThreshold       int
	nodeDeletionGrace time.Duration
	// useSACredentials and rootCAFile are kube-controller-manager's
	// --use-service-account-credentials and --root-ca-file.
	useSACredentials bool
	rootCAFile       string
	leaderElect      leaderElectFlags
}

// newControllerManagerCommand returns `clusterkit controller-manager`.
func newControllerManagerCommand() *cobra.Command {
	o := &controllerManagerOptions{
		nodeGrace: nodelifecycle.DefaultGracePeriod, monitorPeriod: nodelifecycle.DefaultMonitorPeriod,
		tolerationSeconds: nodelifecycle.DefaultTolerationSeconds,
	}
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run the controller manager (Deployment, ReplicaSet, node lifecycle, EndpointSlice, garbage collector) against a cluster",
		Long: `controller-manager runs clusterkit's reference controllers against the API server of
--kubeconfig until interrupted: ` + strings.Join(controllers.Names(), ", ") + `.
Each reads the API's current state, compares it with the desired state and takes the smallest
action that closes the gap; stopped and restarted, it catches up from the API's state alone.
Choose controllers like kube-controller-manager: --controllers='*,-replicaset'.`,
		Example: `  clusterkit controller-manager --kubeconfig ~/.clusterkit/kubeconfig
  clusterkit controller-manager --controllers='*,-nodelifecycle' --node-monitor-grace-period=20s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runControllerManager(ctx, o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	f.StringSliceVar(&o.controllers, "controllers", []string{"*"}, "controllers to run: '*' for all, 'name' to add, '-name' to remove (known: "+strings.Join(controllers.Names(), ", ")+")")
	f.IntVar(&o.workers, "workers", 0, "workers per controller (default 4)")
	f.DurationVar(&o.nodeGrace, "node-monitor-grace-period", o.nodeGrace, "how long a node may go without heartbeat before it is marked Unknown")
	f.DurationVar(&o.monitorPeriod, "node-monitor-period", o.monitorPeriod, "how often every node's health is checked")
	f.Int64Var(&o.tolerationSeconds, "default-not-ready-toleration-seconds", o.tolerationSeconds, "toleration period of pods on an unreachable node that do not declare one")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every failed reconcile")
	addControllerShapeFlags(f, &o.clusterCIDR, &o.gcThreshold)
	addNodeDeletionFlag(f, &o.nodeDeletionGrace)
	f.BoolVar(&o.useSACredentials, "use-service-account-credentials", false, "each controller writes as its own ServiceAccount in kube-system (as kubeadm runs kube-controller-manager); the kubeconfig's identity only reads and requests their tokens")
	o.leaderElect.add(f, "kube-controller-manager")
	f.StringVar(&o.rootCAFile, "root-ca-file", "", "the cluster CA (PEM) published to every namespace as ConfigMap kube-root-ca.crt (default: the kubeconfig's certificate authority)")
	return cmd
}

func runControllerManager(ctx context.Context, o *controllerManagerOptions, log interface{ Write([]byte) (int, error) }) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.kubeconfig != "" {
		rules.ExplicitPath = o.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig (pass --kubeconfig or set KUBECONFIG): %w", err)
	}
	say := func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }
	mcfg := controllers.Config{
		RESTConfig: cfg, Controllers: o.controllers, Workers: o.workers,
		NodeLifecycle: nodelifecycle.Config{GracePeriod: o.nodeGrace, MonitorPeriod: o.monitorPeriod, DefaultTolerationSeconds: &o.tolerationSeconds,
			DeleteAfter: o.nodeDeletionGrace},
		ServiceAccountCredentials: o.useSACredentials, RootCA: cfg.CAData,
		NodeIPAM: nodeipam.Config{ClusterCIDR: o.clusterCIDR},
		PodGC:    podgc.Config{TerminatedThreshold: o.gcThreshold},
	}
	if o.rootCAFile != "" {
		if mcfg.RootCA, err = os.ReadFile(o.rootCAFile); err != nil {
			return fmt.Errorf("--root-ca-file: %w", err)
		}
	}
	if o.verbose {
		mcfg.Log = say
	}
	if err := waitForAPIServer(ctx, cfg, apiServerWait, say); err != nil {
		return err
	}
	return o.leaderElect.run(ctx, cfg, log, func(ctx context.Context) error {
		m, err := controllers.New(mcfg)
		if err != nil {
			return err
		}
		say("controller manager: running %s against %s (Ctrl-C to stop)", strings.Join(m.Controllers(), ", "), cfg.Host)
		err = m.Run(ctx)
		say("controller manager: stopped after %d reconciles", m.Reconciles())
		return err
	})
}

// apiServerWait bounds how long the controller manager waits for the API server at start.
const apiServerWait = time.Minute

// waitForAPIServer waits until the API server answers /readyz with 200, as kube-controller-manager
// waits for its /healthz before starting its controllers: started beside the API server (a lab's
// static pods), it would otherwise fail at once and wait out the kubelet's restart back-off.
func waitForAPIServer(ctx context.Context, cfg *rest.Config, limit time.Duration, say func(string, ...any)) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var last error
	start, told := time.Now(), time.Time{}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, limit, true, func(ctx context.Context) (bool, error) {
		var code int
		res := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&code)
		if code == http.StatusOK {
			return true, nil
		}
		if last = res.Error(); last == nil {
			last = fmt.Errorf("/readyz answered %d", code)
		}
		if time.Since(told) > 5*time.Second {
			say("controller manager: waiting for the API server at %s (%v)", cfg.Host, last)
			told = time.Now()
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("the API server at %s was not ready after %s: %w (last: %v)", cfg.Host, time.Since(start).Round(time.Second), err, last)
	}
	return nil
}
