package quotaadmission

import (
	"context"
	"errors"
	"sync"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	resourcequotaapi "k8s.io/apiserver/pkg/admission/plugin/resourcequota/apis/resourcequota"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/reference/quota"
)

// PluginName is the plugin's name in kube-apiserver's --enable-admission-plugins.
const PluginName = "ResourceQuota"

// Evaluators is the number of quota evaluation workers (kube-apiserver's default).
const Evaluators = 5

// Plugin is the ResourceQuota admission plugin. The API server hands it its loopback client
// (initializer.WantsExternalKubeClientSet); Start runs its quota informer and its workers once
// the server serves, until the context ends. Before Start it reads quotas live.
type Plugin struct {
	*admission.Handler
	inner   *resourcequota.QuotaAdmission
	stop    chan struct{}
	mu      sync.Mutex
	factory informers.SharedInformerFactory
	started bool
}

var (
	_ admission.ValidationInterface          = (*Plugin)(nil)
	_ admission.InitializationValidator      = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet = (*Plugin)(nil)
)

// New returns the plugin. It does not dial.
func New() (*Plugin, error) {
	inner, err := resourcequota.NewResourceQuota(&resourcequotaapi.Configuration{}, Evaluators)
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	inner.SetDrainedNotification(stop)
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update), inner: inner, stop: stop}, nil
}

// SetExternalKubeClientSet takes the server's loopback client: the plugin writes status.used
// through it and watches quotas with it.
func (p *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inner.SetExternalKubeClientSet(client)
	p.factory = informers.NewSharedInformerFactory(client, 0)
	p.inner.SetExternalKubeInformerFactory(p.factory)
	p.inner.SetQuotaConfiguration(quota.Configuration(nil, nil))
}

// ValidateInitialization reports a plugin that did not get its client.
func (p *Plugin) ValidateInitialization() error { return p.inner.ValidateInitialization() }

// Validate refuses a write that would exceed a quota of its namespace and charges an admitted
// one.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	return p.inner.Validate(ctx, a, o)
}

// Start runs the quota informer until ctx ends, then stops the evaluation workers. It returns
// at once; a second call is an error.
func (p *Plugin) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.factory == nil {
		return errors.New("quotaadmission: Start before the server handed over its client")
	}
	if p.started {
		return errors.New("quotaadmission: started twice")
	}
	p.started = true
	p.factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		close(p.stop)
		p.factory.Shutdown()
	}()
	return nil
}
