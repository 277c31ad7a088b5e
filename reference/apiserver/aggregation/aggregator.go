package aggregation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/transport"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	aggregatorinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions"
	apiservicelisters "k8s.io/kube-aggregator/pkg/client/listers/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/controllers/status/metrics"
	"k8s.io/kube-aggregator/pkg/controllers/status/remote"

	"github.com/clusterkit/clusterkit/reference/apiserver/dynamicadmission"
)

// Names kube-apiserver uses for the extension servers' authentication configuration.
const (
	// AuthenticationConfigMap in kube-system holds the CAs and request headers extension API
	// servers trust (kube-apiserver's ClusterAuthenticationTrust controller keeps it).
	AuthenticationConfigMap = "extension-apiserver-authentication"
	// AuthenticationReaderRole in kube-system may read it (RBAC bootstrap policy).
	AuthenticationReaderRole = "extension-apiserver-authentication-reader"
	// AggregatorUser is who the availability checks' discovery requests act as.
	AggregatorUser = "system:kube-aggregator"
)

// ServiceResolver turns a Service reference into the URL of one of its endpoints (the
// admission webhooks' resolver: a ready endpoint's address, else the ClusterIP).
type ServiceResolver interface {
	ResolveEndpoint(namespace, name string, port int32) (*url.URL, error)
}

// Options configure the aggregation layer.
type Options struct {
	// ClientCA is the PEM of the CA that signs client certificates of the cluster
	// (client-ca-file). Required.
	ClientCA []byte
	// FrontProxyCA is the PEM of the CA that signed the front-proxy client certificate
	// (requestheader-client-ca-file); FrontProxyCert and FrontProxyKey are that certificate
	// (CN front-proxy-client) and its key. Required.
	FrontProxyCA, FrontProxyCert, FrontProxyKey []byte
	// AllowedNames are the client certificate names extension servers accept the request
	// headers from (default ["front-proxy-client"]).
	AllowedNames []string
	// Resolver resolves the APIServices' Services (nil: the admission webhooks' resolution
	// over the aggregator's own informers).
	Resolver ServiceResolver
	// Dial opens connections to extension servers (nil: the host's network).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// SyncTimeout bounds Start's wait for the informers (default 30s).
	SyncTimeout time.Duration
	// ErrorLog receives errors no client sees (default: discarded).
	ErrorLog func(format string, args ...any)
}

// Aggregator proxies to extension API servers. Until Start, it serves nothing (every
// group-version is left to the server).
type Aggregator struct {
	opts Options
	dial *transport.DialHolder
	// resolver is Options.Resolver, else the one Start makes.
	resolver ServiceResolver

	mu         sync.RWMutex
	apiService apiservicelisters.APIServiceLister

	transports sync.Map // APIService name -> transportEntry
	discovery  discoveryCache
}

// New builds the aggregation layer. It does not dial.
func New(o Options) (*Aggregator, error) {
	if len(o.ClientCA) == 0 || len(o.FrontProxyCA) == 0 || len(o.FrontProxyCert) == 0 || len(o.FrontProxyKey) == 0 {
		return nil, errors.New("aggregation: Options.ClientCA, FrontProxyCA, FrontProxyCert and FrontProxyKey are required")
	}
	if len(o.AllowedNames) == 0 {
		o.AllowedNames = []string{"front-proxy-client"}
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = 30 * time.Second
	}
	if o.ErrorLog == nil {
		o.ErrorLog = func(string, ...any) {}
	}
	a := &Aggregator{opts: o, resolver: o.Resolver}
	if o.Dial != nil {
		a.dial = &transport.DialHolder{Dial: o.Dial}
	}
	a.discovery.entries = map[string]discoveryEntry{}
	return a, nil
}

// Start reads the cluster through loopback (an administrator's configuration): it writes the
// extension-apiserver-authentication ConfigMap and its reader Role, starts the APIService,
// Service and EndpointSlice informers and upstream's availability controller, and returns
// once the informers have synced. Everything runs until ctx ends.
func (a *Aggregator) Start(ctx context.Context, loopback *rest.Config) error {
	cfg := rest.CopyConfig(loopback)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("aggregation: %w", err)
	}
	agg, err := aggregatorclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("aggregation: %w", err)
	}
	if err := a.ensureAuthentication(ctx, kube); err != nil {
		return err
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := a.ensureAuthentication(ctx, kube); err != nil && ctx.Err() == nil {
			a.opts.ErrorLog("aggregation: %v", err)
		}
	}, time.Minute)

	kf := informers.NewSharedInformerFactory(kube, 0)
	af := aggregatorinformers.NewSharedInformerFactory(agg, 0)
	apiServices := af.Apiregistration().V1().APIServices()
	if a.resolver == nil {
		a.resolver = dynamicadmission.NewServiceResolver(kf.Core().V1().Services().Lister(), kf.Discovery().V1().EndpointSlices().Lister())
	}
	available, err := remote.New(apiServices, kf.Core().V1().Services(), kf.Discovery().V1().EndpointSlices(),
		agg.ApiregistrationV1(), a.dial, a.certKey, a.resolver, metrics.New())
	if err != nil {
		return fmt.Errorf("aggregation: %w", err)
	}
	lister := apiServices.Lister()
	kf.Start(ctx.Done())
	af.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, a.opts.SyncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), apiServices.Informer().HasSynced) {
		return errors.New("aggregation: the APIService informer did not sync")
	}
	go available.Run(2, ctx.Done())
	a.mu.Lock()
	a.apiService = lister
	a.mu.Unlock()
	return nil
}

func (a *Aggregator) lister() apiservicelisters.APIServiceLister {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.apiService
}

func (a *Aggregator) certKey() ([]byte, []byte) { return a.opts.FrontProxyCert, a.opts.FrontProxyKey }

// authenticationData is the ConfigMap's data, in kube-apiserver's keys and JSON-list values.
func (a *Aggregator) authenticationData() (map[string]string, error) {
	list := func(v []string) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	data := map[string]string{
		"client-ca-file":               string(a.opts.ClientCA),
		"requestheader-client-ca-file": string(a.opts.FrontProxyCA),
	}
	for k, v := range map[string][]string{
		"requestheader-allowed-names":        a.opts.AllowedNames,
		"requestheader-username-headers":     {"X-Remote-User"},
		"requestheader-uid-headers":          {"X-Remote-Uid"},
		"requestheader-group-headers":        {"X-Remote-Group"},
		"requestheader-extra-headers-prefix": {"X-Remote-Extra-"},
	} {
		s, err := list(v)
		if err != nil {
			return nil, err
		}
		data[k] = s
	}
	return data, nil
}

// ensureAuthentication writes the ConfigMap when missing or different, and creates the
// reader Role (and upstream's binding of it to the scheduler and controller manager) when
// missing.
func (a *Aggregator) ensureAuthentication(ctx context.Context, kube kubernetes.Interface) error {
	data, err := a.authenticationData()
	if err != nil {
		return fmt.Errorf("aggregation: %w", err)
	}
	cms := kube.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	cm, err := cms.Get(ctx, AuthenticationConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: AuthenticationConfigMap, Namespace: metav1.NamespaceSystem}, Data: data}, metav1.CreateOptions{})
	case err == nil && !equalData(cm.Data, data):
		cm.Data = data
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("aggregation: writing %s/%s: %w", metav1.NamespaceSystem, AuthenticationConfigMap, err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: AuthenticationReaderRole, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}, Annotations: map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"}},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{AuthenticationConfigMap}}},
	}
	if _, err := kube.RbacV1().Roles(metav1.NamespaceSystem).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("aggregation: creating Role %s/%s: %w", metav1.NamespaceSystem, AuthenticationReaderRole, err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "system::" + AuthenticationReaderRole, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}, Annotations: map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"}},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: AuthenticationReaderRole},
		Subjects: []rbacv1.Subject{
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "system:kube-controller-manager"},
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "system:kube-scheduler"},
		},
	}
	if _, err := kube.RbacV1().RoleBindings(metav1.NamespaceSystem).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("aggregation: creating RoleBinding %s/%s: %w", metav1.NamespaceSystem, binding.Name, err)
	}
	return nil
}

func equalData(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
