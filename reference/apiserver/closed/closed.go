package closed

import (
	"context"
	"errors"
	"fmt"
	"net"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/aggregation"
	"github.com/clusterkit/clusterkit/reference/apiserver/authn"
	"github.com/clusterkit/clusterkit/reference/apiserver/authz"
	"github.com/clusterkit/clusterkit/reference/apiserver/customresource"
	"github.com/clusterkit/clusterkit/reference/apiserver/defaultclass"
	"github.com/clusterkit/clusterkit/reference/apiserver/dynamicadmission"
	"github.com/clusterkit/clusterkit/reference/apiserver/limitranger"
	"github.com/clusterkit/clusterkit/reference/apiserver/nodeauthz"
	"github.com/clusterkit/clusterkit/reference/apiserver/priority"
	"github.com/clusterkit/clusterkit/reference/apiserver/quotaadmission"
	"github.com/clusterkit/clusterkit/reference/apiserver/rbac"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/apiserver/signeradmission"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/pki"
)

// DefaultIssuerURL is the ServiceAccount token issuer (kubeadm's default
// --service-account-issuer), also the tokens' default audience.
const DefaultIssuerURL = "https://kubernetes.default.svc.cluster.local"

// Options configure the composition.
type Options struct {
	// PKI is the cluster's PKI: its CA verifies client certificates and its ServiceAccount key
	// signs tokens. Required.
	PKI *pki.Bundle
	// Store is the server's store: a bound token is valid only while its object is in it.
	// Required.
	Store interfaces.Store
	// Encryption is the server's encryption at rest (nil: none).
	Encryption storage.Transformers
	// IssuerURL is the ServiceAccount token issuer (default DefaultIssuerURL).
	IssuerURL string
	// Admission plugins run after LimitRanger, NodeRestriction, RBAC's escalation check and
	// Priority, in order, and before dynamic admission (mutating admission policies and
	// webhooks; ValidatingAdmissionPolicies and validating webhooks) and ResourceQuota, which
	// are always composed last, as in kube-apiserver's plugin order.
	Admission []admission.Interface
	// WebhookDial opens the connections to admission and CRD conversion webhooks (nil: the
	// host's network).
	WebhookDial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Composition is the closed server's security, ready to be put into an apiserver.Config
// (Configure) and started once the server serves (Start).
type Composition struct {
	access     apiserver.Access
	admission  admission.Interface
	issuer     *serviceaccount.Issuer
	encryption storage.Transformers
	rbac       *rbac.Setup
	node       *nodeauthz.Authorizer
	dynamic    *dynamicadmission.Plugins
	quota      *quotaadmission.Plugin
	aggregator *aggregation.Aggregator
}

// New composes it. It does not dial.
func New(o Options) (*Composition, error) {
	if o.PKI == nil || o.Store == nil {
		return nil, errors.New("closed: Options.PKI and Options.Store are required")
	}
	url := o.IssuerURL
	if url == "" {
		url = DefaultIssuerURL
	}
	issuer, err := serviceaccount.NewIssuer(url, o.PKI.ServiceAccountKey)
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	auds := authenticator.Audiences{url}
	tokens, err := issuer.Authenticator(auds, apiserver.StoreTokenGetter(o.Store, o.Encryption))
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	authenticate, err := authn.New(authn.Options{ClientCA: o.PKI.CAPool(), Tokens: []authenticator.Token{tokens}})
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	node := nodeauthz.New()
	setup, err := rbac.NewSetup(union.NamedAuthorizer{AuthorizerName: "node", Authorizer: node})
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	authorize, err := authz.Default(setup.Authorizer)
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	dynamic, err := dynamicadmission.New(dynamicadmission.Options{Authorizer: authorize, Dial: o.WebhookDial})
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	quota, err := quotaadmission.New()
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	// The aggregation layer reaches extension API servers as webhooks are reached: the same
	// Service resolution and dialer.
	aggregator, err := aggregation.New(aggregation.Options{
		ClientCA: o.PKI.CA.CertPEM, FrontProxyCA: o.PKI.FrontProxy.CA.CertPEM,
		FrontProxyCert: o.PKI.FrontProxy.Client.CertPEM, FrontProxyKey: o.PKI.FrontProxy.Client.KeyPEM,
		Resolver: dynamic.ServiceResolver(), Dial: o.WebhookDial,
	})
	if err != nil {
		return nil, fmt.Errorf("closed: %w", err)
	}
	// kube-apiserver's order: LimitRanger first, then NodeRestriction, Pod Security and the
	// ServiceAccount plugin (in o.Admission), DefaultStorageClass and DefaultIngressClass
	// (defaultclass), Priority, the dynamic plugins, ResourceQuota last.
	plugins := append([]admission.Interface{limitranger.New(), nodeauthz.NewRestriction(auds...), setup.Admission, defaultclass.New(), priority.New()}, o.Admission...)
	plugins = append(plugins, signeradmission.New(authorize), dynamic, quota)
	return &Composition{
		access: apiserver.Access{
			Authenticator:  authenticate,
			Anonymous:      true,
			AnonymousPaths: apiserver.PublicInfoPaths(),
			APIAudiences:   auds,
			Authorizer:     authorize,
			Synced:         setup.RBAC.Synced,
		},
		admission:  admission.NewChainHandler(plugins...),
		issuer:     issuer,
		encryption: o.Encryption,
		rbac:       setup,
		node:       node,
		dynamic:    dynamic,
		quota:      quota,
		aggregator: aggregator,
	}, nil
}

// Configure sets cfg's Access, Admission, ServiceAccountIssuer, Encryption, Aggregation and
// ConversionWebhooks (CRD conversion webhooks are reached as admission webhooks are: the same
// Service resolution and dialer).
func (c *Composition) Configure(cfg *apiserver.Config) {
	cfg.Access = c.access
	cfg.Admission = c.admission
	cfg.ServiceAccountIssuer = c.issuer
	cfg.Encryption = c.encryption
	cfg.ConversionWebhooks = customresource.WebhookReach{ServiceResolver: c.dynamic.ServiceResolver(), AuthWrapper: c.dynamic.AuthWrapper()}
	cfg.Aggregation = c.aggregator
}

// Start makes the authorizers read the cluster through loopback (an administrator's
// configuration of the serving server): the ResourceQuota plugin starts its workers, dynamic
// admission reads the webhook configurations and admission policies, then RBAC writes the
// bootstrap policy and reads the roles and bindings, the Node authorizer reads the pods, the
// aggregation layer writes the extension-apiserver-authentication ConfigMap and reads the
// APIServices (and keeps their availability). It
// returns once all have synced (until then only system:masters gets in) and keeps them
// current until ctx ends, when the ResourceQuota plugin's workers stop too.
func (c *Composition) Start(ctx context.Context, loopback *rest.Config) error {
	if err := c.quota.Start(ctx); err != nil {
		return err
	}
	if err := c.dynamic.Start(ctx, rest.CopyConfig(loopback)); err != nil {
		return err
	}
	if err := c.rbac.RBAC.Start(ctx, rest.CopyConfig(loopback)); err != nil {
		return err
	}
	if err := c.node.Start(ctx, rest.CopyConfig(loopback)); err != nil {
		return err
	}
	return c.aggregator.Start(ctx, rest.CopyConfig(loopback))
}
