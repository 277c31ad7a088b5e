package harness

import (
	"context"
	"fmt"
	"os"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/aggregation"
	"github.com/clusterkit/clusterkit/reference/apiserver/limitranger"
	"github.com/clusterkit/clusterkit/reference/apiserver/quotaadmission"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/controllers/replicaset"
	"github.com/clusterkit/clusterkit/reference/controllers/resourcequota"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/pki"
)

// Policy is the namespace policy every cluster has and the in-process API harness gives its
// server, so that the API specs of LimitRanges, ResourceQuotas and ReplicationControllers see
// what a kubeadm cluster does: the LimitRanger and ResourceQuota admission plugins, and the
// resource-quota and replication controllers.
type Policy struct {
	// Quota replaces the ResourceQuota admission plugin (nil: the reference plugin).
	Quota func() (admission.Interface, error)
	// Aggregation wraps the aggregation layer (nil: the reference one as it is).
	Aggregation func(apiserver.Aggregation) apiserver.Aggregation
	// Resources changes the resources served (nil: registry.DefaultResources() as they are).
	Resources func([]*registry.Resource) []*registry.Resource
}

// policyRun is a Policy set up for one server.
type policyRun struct {
	quota      admission.Interface
	aggregator *aggregation.Aggregator
}

// configure puts the admission plugins into cfg (LimitRanger first, ResourceQuota last, as
// kube-apiserver orders them) and the aggregation layer (its front-proxy PKI made in dir; the
// harness takes no client certificates, so the front-proxy CA stands in for client-ca-file).
func (p *Policy) configure(cfg *apiserver.Config, dir string) (*policyRun, error) {
	if p.Resources != nil {
		cfg.Resources = p.Resources(registry.DefaultResources())
	}
	fp, err := pki.EnsureFrontProxy(dir, pki.Options{})
	if err != nil {
		return nil, err
	}
	agg, err := aggregation.New(aggregation.Options{ClientCA: fp.CA.CertPEM, FrontProxyCA: fp.CA.CertPEM,
		FrontProxyCert: fp.Client.CertPEM, FrontProxyKey: fp.Client.KeyPEM})
	if err != nil {
		return nil, err
	}
	cfg.Aggregation = agg
	if p.Aggregation != nil {
		cfg.Aggregation = p.Aggregation(agg)
	}
	var quota admission.Interface
	if p.Quota != nil {
		quota, err = p.Quota()
	} else {
		quota, err = quotaadmission.New()
	}
	if err != nil {
		return nil, err
	}
	plugins := []admission.Interface{limitranger.New()}
	if cfg.Admission != nil {
		plugins = append(plugins, cfg.Admission)
	}
	cfg.Admission = admission.NewChainHandler(append(plugins, quota)...)
	return &policyRun{quota: quota, aggregator: agg}, nil
}

// start ties the quota plugin to ctx and runs the controllers until ctx ends (the cleanup waits
// for them).
func (r *policyRun) start(ctx context.Context, c conformance.Cleaner, cfg *rest.Config) error {
	if s, ok := r.quota.(interface{ Start(context.Context) error }); ok {
		if err := s.Start(ctx); err != nil {
			return err
		}
	}
	if err := r.aggregator.Start(ctx, rest.CopyConfig(cfg)); err != nil {
		return err
	}
	ctl, err := runner.New(runner.Config{RESTConfig: cfg},
		runner.Named{Name: resourcequota.Name, Factory: resourcequota.New()},
		runner.Named{Name: replicaset.ReplicationControllerName, Factory: replicaset.NewReplicationController(replicaset.Config{})})
	if err != nil {
		return fmt.Errorf("policy controllers: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctl.Run(runCtx) }()
	c.Cleanup(func() {
		stop()
		if err := <-done; err != nil && runCtx.Err() == nil {
			fmt.Fprintf(os.Stderr, "policy controllers stopped with: %v\n", err)
		}
	})
	return nil
}

// InProcessAPIWithQuota is InProcessAPI with its ResourceQuota admission plugin replaced (the
// known-bad quota implementations).
func InProcessAPIWithQuota(name string, store conformance.StoreHarness, quota func() (admission.Interface, error)) conformance.APIHarness {
	return conformance.APIHarness{
		Name: name,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			cfg, _, err := startAPIServerWith(ctx, c, store, nil, &Policy{Quota: quota}, nil)
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			return conformance.APIServerUnderTest{Config: cfg}, nil
		},
	}
}

// InProcessAPIWithResources is InProcessAPI with the resources it serves changed by modify
// (the known-bad strategies).
func InProcessAPIWithResources(name string, store conformance.StoreHarness, modify func([]*registry.Resource) []*registry.Resource) conformance.APIHarness {
	return conformance.APIHarness{
		Name: name,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			cfg, _, err := startAPIServerWith(ctx, c, store, nil, &Policy{Resources: modify}, nil)
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			return conformance.APIServerUnderTest{Config: cfg}, nil
		},
	}
}

// InProcessAPIWithAggregation is InProcessAPI with its aggregation layer wrapped (the known-bad
// aggregators).
func InProcessAPIWithAggregation(name string, store conformance.StoreHarness, wrap func(apiserver.Aggregation) apiserver.Aggregation) conformance.APIHarness {
	return conformance.APIHarness{
		Name:            name,
		ReachesLoopback: true,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.APIServerUnderTest, error) {
			cfg, _, err := startAPIServerWith(ctx, c, store, nil, &Policy{Aggregation: wrap}, nil)
			if err != nil {
				return conformance.APIServerUnderTest{}, err
			}
			return conformance.APIServerUnderTest{Config: cfg}, nil
		},
	}
}
