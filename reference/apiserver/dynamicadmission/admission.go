package dynamicadmission

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"sync"
	"time"

	webhookutil "k8s.io/apiserver/pkg/util/webhook"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	policymutating "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	policyvalidating "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Options configure the plugins.
type Options struct {
	// Authorizer answers the authorizer variable of ValidatingAdmissionPolicy expressions (the
	// server's authorizer). Required.
	Authorizer authorizer.Authorizer
	// SyncTimeout bounds Start's wait for the informers (default 30s).
	SyncTimeout time.Duration
	// Dial opens the connections to webhooks (nil: the host's network). A lab whose pods live
	// in node network namespaces the server's own namespace has no route to dials through
	// the node that holds the address.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Plugins is the dynamic admission of a server: MutatingAdmissionPolicies then mutating
// webhooks in the mutating phase, ValidatingAdmissionPolicies then validating webhooks in the
// validating phase, the order of kube-apiserver's default plugin list. Until Start has synced their configuration, every
// request is admitted: Start runs before the server's authorizers are started, so until then
// only system:masters gets in. It implements admission.MutationInterface and
// admission.ValidationInterface.
type Plugins struct {
	opts       Options
	mutating   *mutating.Plugin
	validating *validating.Plugin
	policy     *policyvalidating.Plugin
	mutPolicy  *policymutating.Plugin

	mu       sync.RWMutex
	started  bool
	resolver webhookutil.ServiceResolver
}

var (
	_ admission.MutationInterface   = (*Plugins)(nil)
	_ admission.ValidationInterface = (*Plugins)(nil)
)

// New builds the plugins. It does not dial.
func New(o Options) (*Plugins, error) {
	if o.Authorizer == nil {
		return nil, errors.New("dynamicadmission: Options.Authorizer is required")
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = 30 * time.Second
	}
	m, err := mutating.NewMutatingWebhook(nil)
	if err != nil {
		return nil, fmt.Errorf("dynamicadmission: %w", err)
	}
	v, err := validating.NewValidatingAdmissionWebhook(nil)
	if err != nil {
		return nil, fmt.Errorf("dynamicadmission: %w", err)
	}
	p, err := policyvalidating.NewPlugin(nil)
	if err != nil {
		return nil, fmt.Errorf("dynamicadmission: %w", err)
	}
	mp, err := policymutating.NewPlugin(nil)
	if err != nil {
		return nil, fmt.Errorf("dynamicadmission: %w", err)
	}
	// kube-apiserver 1.37 serves admissionregistration.k8s.io/v1 MutatingAdmissionPolicy.
	mp.SetEnabled(true)
	return &Plugins{opts: o, mutating: m, validating: v, policy: p, mutPolicy: mp}, nil
}

// Start reads the admission configuration of the server at loopback (as a member of
// system:masters) through informers, returns once they have synced and keeps them current
// until ctx ends. It is called once, before the authorizers start.
func (p *Plugins) Start(ctx context.Context, loopback *rest.Config) error {
	cfg := rest.CopyConfig(loopback)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamicadmission: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamicadmission: %w", err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	resolver := serviceResolver{
		services: factory.Core().V1().Services().Lister(),
		slices:   factory.Discovery().V1().EndpointSlices().Lister(),
	}
	for _, w := range []interface {
		SetExternalKubeClientSet(kubernetes.Interface)
		SetExternalKubeInformerFactory(informers.SharedInformerFactory)
		ValidateInitialization() error
	}{p.mutating, p.validating} {
		w.SetExternalKubeClientSet(client)
		w.SetExternalKubeInformerFactory(factory)
	}
	p.mutating.SetServiceResolver(resolver)
	p.validating.SetServiceResolver(resolver)
	p.mu.Lock()
	p.resolver = resolver
	p.mu.Unlock()
	if wrap := p.AuthWrapper(); wrap != nil {
		p.mutating.SetAuthenticationInfoResolverWrapper(wrap)
		p.validating.SetAuthenticationInfoResolverWrapper(wrap)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	for _, pol := range []policyPlugin{p.policy, p.mutPolicy} {
		pol.SetExternalKubeClientSet(client)
		pol.SetExternalKubeInformerFactory(factory)
		pol.SetRESTMapper(mapper)
		pol.SetDynamicClient(dyn)
		pol.SetDrainedNotification(ctx.Done())
		pol.SetUnconditionalAuthorizer(p.opts.Authorizer)
	}
	p.mutating.SetUnconditionalAuthorizer(p.opts.Authorizer)
	p.validating.SetUnconditionalAuthorizer(p.opts.Authorizer)
	for _, v := range []admission.InitializationValidator{p.mutating, p.validating, p.policy, p.mutPolicy} {
		if err := v.ValidateInitialization(); err != nil {
			return fmt.Errorf("dynamicadmission: %w", err)
		}
	}
	factory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, p.opts.SyncTimeout)
	defer cancel()
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			return fmt.Errorf("dynamicadmission: informer of %v did not sync", typ)
		}
	}
	// The policy plugin's own source syncs in the background: wait for it too.
	err = wait.PollUntilContextCancel(syncCtx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		return p.policy.WaitForReady() && p.mutPolicy.WaitForReady() && p.mutating.WaitForReady() && p.validating.WaitForReady(), nil
	})
	if err != nil {
		return fmt.Errorf("dynamicadmission: waiting for the admission configuration: %w", err)
	}
	p.mu.Lock()
	p.started = true
	p.mu.Unlock()
	return nil
}

// ServiceResolver resolves a webhook's Service as the admission webhooks' resolver does (a
// ready endpoint, else the ClusterIP), for the server's other webhooks (CRD conversion). It
// reads the Services and EndpointSlices Start watches: until Start, it fails.
func (p *Plugins) ServiceResolver() webhookutil.ServiceResolver { return startedResolver{p} }

// AuthWrapper gives webhook clients the dialer of Options.Dial (nil without one).
func (p *Plugins) AuthWrapper() webhookutil.AuthenticationInfoResolverWrapper {
	if p.opts.Dial == nil {
		return nil
	}
	return func(d webhookutil.AuthenticationInfoResolver) webhookutil.AuthenticationInfoResolver {
		return dialingResolver{delegate: d, dial: p.opts.Dial}
	}
}

// startedResolver is the resolver of Start, once it has run.
type startedResolver struct{ p *Plugins }

func (r startedResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	r.p.mu.RLock()
	res := r.p.resolver
	r.p.mu.RUnlock()
	if res == nil {
		return nil, fmt.Errorf("resolving webhook service %s/%s: the server's informers have not started", namespace, name)
	}
	return res.ResolveEndpoint(namespace, name, port)
}

// policyPlugin is what Start sets on both policy plugins.
type policyPlugin interface {
	SetExternalKubeClientSet(kubernetes.Interface)
	SetExternalKubeInformerFactory(informers.SharedInformerFactory)
	SetRESTMapper(meta.RESTMapper)
	SetDynamicClient(dynamic.Interface)
	SetDrainedNotification(<-chan struct{})
	SetUnconditionalAuthorizer(authorizer.UnconditionalAuthorizer)
}

func (p *Plugins) isStarted() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.started
}

// Handles reports that every operation is handled (CREATE, UPDATE, DELETE, CONNECT).
func (p *Plugins) Handles(op admission.Operation) bool {
	return p.mutating.Handles(op) || p.validating.Handles(op)
}

// Admit applies the MutatingAdmissionPolicies, then calls the mutating webhooks.
func (p *Plugins) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if !p.isStarted() {
		return nil
	}
	o = objectInterfaces{o}
	if p.mutPolicy.Handles(a.GetOperation()) {
		if err := p.mutPolicy.Admit(ctx, a, o); err != nil {
			return err
		}
	}
	if !p.mutating.Handles(a.GetOperation()) {
		return nil
	}
	return p.mutating.Admit(ctx, a, o)
}

// Validate evaluates the ValidatingAdmissionPolicies, then calls the validating webhooks.
func (p *Plugins) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if !p.isStarted() {
		return nil
	}
	o = objectInterfaces{o}
	if p.policy.Handles(a.GetOperation()) {
		if err := p.policy.Validate(ctx, a, o); err != nil {
			return err
		}
	}
	if !p.validating.Handles(a.GetOperation()) {
		return nil
	}
	return p.validating.Validate(ctx, a, o)
}

// objectInterfaces serve the plugins from the server's: the server holds versioned objects
// only (no internal versions), so the plugins' conversion of an object to its own type, which
// kube-apiserver's internal-to-versioned conversion does, is a copy.
type objectInterfaces struct{ admission.ObjectInterfaces }

func (o objectInterfaces) GetObjectConvertor() runtime.ObjectConvertor {
	return sameTypeConvertor{o.ObjectInterfaces.GetObjectConvertor()}
}

type sameTypeConvertor struct{ runtime.ObjectConvertor }

func (c sameTypeConvertor) Convert(in, out, context any) error {
	ti, to := reflect.TypeOf(in), reflect.TypeOf(out)
	if ti == to && ti != nil && ti.Kind() == reflect.Pointer {
		if _, ok := in.(runtime.Unstructured); !ok {
			reflect.ValueOf(out).Elem().Set(reflect.ValueOf(in).Elem())
			return nil
		}
	}
	return c.ObjectConvertor.Convert(in, out, context)
}

// dialingResolver gives the webhook clients' configurations the server's dialer.
type dialingResolver struct {
	delegate webhookutil.AuthenticationInfoResolver
	dial     func(ctx context.Context, network, address string) (net.Conn, error)
}

func (r dialingResolver) ClientConfigFor(hostPort string) (*rest.Config, error) {
	cfg, err := r.delegate.ClientConfigFor(hostPort)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Dial = r.dial
	return cfg, nil
}

func (r dialingResolver) ClientConfigForService(name, namespace string, port int) (*rest.Config, error) {
	cfg, err := r.delegate.ClientConfigForService(name, namespace, port)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Dial = r.dial
	return cfg, nil
}
