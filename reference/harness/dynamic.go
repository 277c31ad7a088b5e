package harness

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/dynamicadmission"
)

// PolicyCluster is Cluster with kube-apiserver's dynamic admission at the end of the server's
// chain — ValidatingAdmissionPolicies, MutatingAdmissionPolicies and admission webhooks, as
// every kube-apiserver since 1.30 enforces them — for specs that make the API server refuse a
// component's request (the scheduler specs refuse a pods/binding). The server authorizes
// nothing, so the policies' authorizer allows everything. It returns once the admission
// configuration has synced.
func PolicyCluster(store conformance.StoreHarness) func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
	return ConfiguredPolicyCluster(store, nil)
}

// ConfiguredPolicyCluster is PolicyCluster with the server's Config changed by configure (nil:
// none) before it starts, as ConfiguredCluster.
func ConfiguredPolicyCluster(store conformance.StoreHarness, configure func(*apiserver.Config)) func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
	return func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
		dyn, err := dynamicadmission.New(dynamicadmission.Options{Authorizer: authorizerfactory.NewAlwaysAllowAuthorizer()})
		if err != nil {
			return nil, err
		}
		cfg, _, err := startAPIServerWith(ctx, c, store, nil, nil, func(cfg *apiserver.Config) {
			if configure != nil {
				configure(cfg)
			}
			cfg.Admission = admission.NewChainHandler(cfg.Admission, dyn)
		})
		if err != nil {
			return nil, err
		}
		// The informers stop before the server does (cleanups run last first).
		runCtx, stop := context.WithCancel(context.Background())
		c.Cleanup(stop)
		if err := dyn.Start(runCtx, rest.CopyConfig(cfg)); err != nil {
			return nil, fmt.Errorf("starting the dynamic admission: %w", err)
		}
		return cfg, nil
	}
}
