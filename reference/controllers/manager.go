package controllers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/controller-manager/pkg/clientbuilder"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/clusterroleaggregation"
	"github.com/clusterkit/clusterkit/reference/controllers/daemonset"
	"github.com/clusterkit/clusterkit/reference/controllers/deployment"
	"github.com/clusterkit/clusterkit/reference/controllers/disruption"
	"github.com/clusterkit/clusterkit/reference/controllers/endpoints"
	"github.com/clusterkit/clusterkit/reference/controllers/endpointslice"
	"github.com/clusterkit/clusterkit/reference/controllers/endpointslicemirroring"
	"github.com/clusterkit/clusterkit/reference/controllers/garbagecollector"
	"github.com/clusterkit/clusterkit/reference/controllers/job"
	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"
	"github.com/clusterkit/clusterkit/reference/controllers/nodelifecycle"
	"github.com/clusterkit/clusterkit/reference/controllers/podgc"
	"github.com/clusterkit/clusterkit/reference/controllers/replicaset"
	"github.com/clusterkit/clusterkit/reference/controllers/resourcequota"
	"github.com/clusterkit/clusterkit/reference/controllers/rootcacertpublisher"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/controllers/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/controllers/ttlafterfinished"
)

// Config configures a Manager.
type Config struct {
	// RESTConfig reaches the API server. Required.
	RESTConfig *rest.Config
	// Controllers selects what runs, like kube-controller-manager's
	// --controllers: "*" is every default controller, "name" adds one,
	// "-name" removes one ("*,-replicaset"). Empty means "*".
	Controllers []string
	// Replace maps controller names to factories that replace (or add to)
	// the reference ones, for running the suite against a mix.
	Replace map[string]runner.Factory
	// Clock is the controllers' clock (default real); QueueClock drives
	// retry backoff (default real). See runner.Config.
	Clock      runner.Clock
	QueueClock runner.Clock
	// Workers per controller (default runner.DefaultWorkers).
	Workers int
	// NodeLifecycle configures the node lifecycle controller.
	NodeLifecycle nodelifecycle.Config
	// ReplicaSet configures the ReplicaSet controller.
	ReplicaSet replicaset.Config
	// NodeIPAM configures the node IPAM controller (--cluster-cidr, --node-cidr-mask-size).
	NodeIPAM nodeipam.Config
	// PodGC configures the pod garbage collector (--terminated-pod-gc-threshold).
	PodGC podgc.Config
	// RootCA is the cluster CA bundle (PEM) the root-ca-cert-publisher puts in every
	// namespace's kube-root-ca.crt ConfigMap under ca.crt. Empty (clusterkit has no PKI yet)
	// publishes an empty ca.crt.
	RootCA []byte
	// Log receives diagnostics (default: discarded).
	Log func(format string, args ...any)
	// ServiceAccountCredentials makes each controller write as its own ServiceAccount in
	// kube-system (kube-controller-manager's --use-service-account-credentials, kubeadm's
	// default): the manager's own identity (RESTConfig, system:kube-controller-manager) only
	// reads through the shared informers and requests each controller's token (TokenRequest,
	// renewed before it expires); the controller then holds exactly its
	// system:controller:NAME role. Controllers without a known ServiceAccount keep RESTConfig.
	ServiceAccountCredentials bool
}

// ServiceAccountNamespace holds the controllers' ServiceAccounts.
const ServiceAccountNamespace = "kube-system"

// ServiceAccounts maps the reference controllers to the ServiceAccount each acts as with
// ServiceAccountCredentials — kube-controller-manager's names, bound by the bootstrap policy to
// the system:controller:<name> ClusterRoles.
func ServiceAccounts() map[string]string {
	return map[string]string{
		clusterroleaggregation.Name:          "clusterrole-aggregation-controller",
		deployment.Name:                      "deployment-controller",
		replicaset.Name:                      "replicaset-controller",
		nodelifecycle.Name:                   "node-controller",
		endpointslice.Name:                   "endpointslice-controller",
		garbagecollector.Name:                "generic-garbage-collector",
		serviceaccount.Name:                  "service-account-controller",
		rootcacertpublisher.Name:             "root-ca-cert-publisher",
		replicaset.ReplicationControllerName: "replication-controller",
		resourcequota.Name:                   "resourcequota-controller",
		disruption.Name:                      "disruption-controller",
		endpoints.Name:                       "endpoint-controller",
		endpointslicemirroring.Name:          "endpointslicemirroring-controller",
		daemonset.Name:                       "daemon-set-controller",
		job.Name:                             "job-controller",
		ttlafterfinished.Name:                "ttl-after-finished-controller",
		nodeipam.Name:                        "node-controller",
		podgc.Name:                           "pod-garbage-collector",
	}
}

// EventSource is the source component of a reference controller's Events: its
// ServiceAccount's name (deployment-controller, replicaset-controller, node-controller, …), as
// kube-controller-manager's controllers name themselves; else the controller's name.
func EventSource(controller string) string {
	if sa, ok := ServiceAccounts()[controller]; ok {
		return sa
	}
	return controller
}

// serviceAccountConfigs returns runner.Config.ClientConfigFor for ServiceAccountCredentials:
// k8s.io/controller-manager's dynamic client builder, as kube-controller-manager uses it.
func serviceAccountConfigs(root *rest.Config) (func(string) (*rest.Config, error), error) {
	// The ServiceAccounts are looked up (or made) for every controller at once when the
	// manager starts: with client-go's default 5 requests/s they waited on each other.
	rc := rest.CopyConfig(root)
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = runner.DefaultQPS, runner.DefaultBurst
	}
	core, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	// Without the manager's client certificate, so that the bearer token decides who it is.
	builder := clientbuilder.NewDynamicClientBuilder(rest.AnonymousClientConfig(root), core.CoreV1(), ServiceAccountNamespace)
	accounts := ServiceAccounts()
	return func(controller string) (*rest.Config, error) {
		sa, ok := accounts[controller]
		if !ok {
			return root, nil
		}
		return builder.Config(sa)
	}, nil
}

// Defaults returns the reference controllers by name.
func Defaults(cfg Config) map[string]runner.Factory {
	return map[string]runner.Factory{
		clusterroleaggregation.Name:          clusterroleaggregation.New(),
		deployment.Name:                      deployment.New(),
		replicaset.Name:                      replicaset.New(cfg.ReplicaSet),
		nodelifecycle.Name:                   nodelifecycle.New(cfg.NodeLifecycle),
		endpointslice.Name:                   endpointslice.New(),
		garbagecollector.Name:                garbagecollector.New(garbagecollector.Config{}),
		serviceaccount.Name:                  serviceaccount.New(),
		rootcacertpublisher.Name:             rootcacertpublisher.New(rootcacertpublisher.Config{RootCA: cfg.RootCA}),
		replicaset.ReplicationControllerName: replicaset.NewReplicationController(cfg.ReplicaSet),
		resourcequota.Name:                   resourcequota.New(),
		disruption.Name:                      disruption.New(),
		endpoints.Name:                       endpoints.New(),
		endpointslicemirroring.Name:          endpointslicemirroring.New(),
		daemonset.Name:                       daemonset.New(),
		job.Name:                             job.New(),
		ttlafterfinished.Name:                ttlafterfinished.New(),
		nodeipam.Name:                        nodeipam.New(cfg.NodeIPAM),
		podgc.Name:                           podgc.New(cfg.PodGC),
	}
}

// Names returns the names of the default controllers, sorted.
func Names() []string {
	var out []string
	for n := range Defaults(Config{}) {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Select resolves a --controllers list against the available names.
func Select(spec []string, available []string) ([]string, error) {
	if len(spec) == 0 {
		spec = []string{"*"}
	}
	on := map[string]bool{}
	for _, s := range spec {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case s == "*":
			for _, n := range available {
				on[n] = true
			}
		case strings.HasPrefix(s, "-"):
			if !slices.Contains(available, s[1:]) {
				return nil, fmt.Errorf("unknown controller %q (known: %s)", s[1:], strings.Join(available, ", "))
			}
			delete(on, s[1:])
		default:
			if !slices.Contains(available, s) {
				return nil, fmt.Errorf("unknown controller %q (known: %s)", s, strings.Join(available, ", "))
			}
			on[s] = true
		}
	}
	var out []string
	for n := range on {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Manager is the controller manager, an interfaces.Component.
type Manager struct {
	runner *runner.Runner
	names  []string
}

var _ interfaces.Component = (*Manager)(nil)

// New builds a Manager. It does not dial.
func New(cfg Config) (*Manager, error) {
	all := Defaults(cfg)
	for n, f := range cfg.Replace {
		all[n] = f
	}
	var available []string
	for n := range all {
		available = append(available, n)
	}
	sort.Strings(available)
	names, err := Select(cfg.Controllers, available)
	if err != nil {
		return nil, err
	}
	var named []runner.Named
	for _, n := range names {
		named = append(named, runner.Named{Name: n, Factory: all[n]})
	}
	rcfg := runner.Config{
		RESTConfig: cfg.RESTConfig, Clock: cfg.Clock, QueueClock: cfg.QueueClock,
		Workers: cfg.Workers, Log: cfg.Log, EventSource: EventSource,
	}
	if cfg.ServiceAccountCredentials && cfg.RESTConfig != nil {
		if rcfg.ClientConfigFor, err = serviceAccountConfigs(cfg.RESTConfig); err != nil {
			return nil, err
		}
	}
	r, err := runner.New(rcfg, named...)
	if err != nil {
		return nil, err
	}
	return &Manager{runner: r, names: names}, nil
}

// Name implements interfaces.Component.
func (m *Manager) Name() string { return "controller-manager" }

// Controllers returns the names of the controllers it runs.
func (m *Manager) Controllers() []string { return slices.Clone(m.names) }

// Run runs every controller until ctx is done.
func (m *Manager) Run(ctx context.Context) error { return m.runner.Run(ctx) }

// Reconciles is the number of reconciles so far (all controllers).
func (m *Manager) Reconciles() int64 { return m.runner.Reconciles() }

// WaitSynced waits until the informers are synced and workers run.
func (m *Manager) WaitSynced(ctx context.Context) error {
	select {
	case <-m.runner.Synced():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start runs the manager in the background and returns a function that stops
// it and waits for it to end.
func (m *Manager) Start(ctx context.Context) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("controller manager did not stop within 30s")
		}
	}
}
