package quotaadmission

import (
	"context"
	"errors"
	"sync"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	resourcequotaapi "k8s.io/apiserver/pkg/admission/plugin/resourcequota/apis/resourcequota"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/reference/quota"
)

// PluginName is the plugin's name in kube-apiserver's --enable-admission-plugins.
const PluginName = "ResourceQuota"

// Evaluators is the number of quota evaluation workers (kube-apiserver's default).
const Evaluators = 5

// Plugin is the ResourceQuota admission plugin. The API server hands it its loopback client
// (initializer.WantsExternalKubeClientSet), through which it reads the namespace's quotas on
// every write (no informer: the reads are in process and always current) and charges
// status.used. Its evaluation workers run until the context given to Start ends.
type Plugin struct {
	*admission.Handler
	inner *resourcequota.QuotaAdmission
	stop  chan struct{}
	once  sync.Once
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

// SetExternalKubeClientSet takes the server's loopback client and starts the evaluation
// workers (they end with Start's context).
func (p *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	p.inner.SetExternalKubeClientSet(client)
	p.inner.SetExternalKubeInformerFactory(liveFactory{client: client})
	p.inner.SetQuotaConfiguration(quota.Configuration(nil, nil))
}

// ValidateInitialization reports a plugin that did not get its client.
func (p *Plugin) ValidateInitialization() error { return p.inner.ValidateInitialization() }

// Validate refuses a write that would exceed a quota of its namespace and charges an admitted
// one.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	return p.inner.Validate(ctx, a, o)
}

// Start ties the evaluation workers to ctx: they stop when it ends. It returns at once; a
// second call is an error.
func (p *Plugin) Start(ctx context.Context) error {
	started := false
	p.once.Do(func() {
		started = true
		go func() {
			<-ctx.Done()
			close(p.stop)
		}()
	})
	if !started {
		return errors.New("quotaadmission: started twice")
	}
	return nil
}
