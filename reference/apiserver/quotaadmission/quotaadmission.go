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

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/quota"
)

// PluginName is the plugin's name in kube-apiserver's --enable-admission-plugins.
const PluginName = "ResourceQuota"

// Evaluators is the number of quota evaluation workers (kube-apiserver's default).
const Evaluators = 5

// Plugin is the ResourceQuota admission plugin. It reads the namespace's quotas on every write
// straight from the server's storage (apiserver.WantsObjectReader: no informer, always
// current, and no request back into a server that may still be bootstrapping) and charges
// status.used through the server's loopback client (initializer.WantsExternalKubeClientSet).
// The server hands a plugin one or the other, so the Plugin asks for them through two parts
// (Unwrap). Its evaluation workers run until the context given to Start ends.
type Plugin struct {
	*admission.Handler
	inner  *resourcequota.QuotaAdmission
	stop   chan struct{}
	once   sync.Once
	reader apiserver.ObjectReader
}

var (
	_ admission.ValidationInterface          = (*Plugin)(nil)
	_ admission.InitializationValidator      = (*Plugin)(nil)
	_ apiserver.WantsObjectReader            = readerPart{}
	_ initializer.WantsExternalKubeClientSet = clientPart{}
)

// Unwrap returns the parts the API server initialises: the storage reader's, then the
// client's.
func (p *Plugin) Unwrap() admission.Interface { return parts{readerPart{p}, clientPart{p}} }

// parts is a chain (a slice of plugins) that admits nothing itself.
type parts []admission.Interface

func (parts) Handles(admission.Operation) bool { return false }

type readerPart struct{ p *Plugin }

func (readerPart) Handles(admission.Operation) bool { return false }

// SetObjectReader takes the server's storage reader.
func (r readerPart) SetObjectReader(reader apiserver.ObjectReader) { r.p.reader = reader }

type clientPart struct{ p *Plugin }

func (clientPart) Handles(admission.Operation) bool { return false }

// SetExternalKubeClientSet takes the loopback client and completes the plugin.
func (c clientPart) SetExternalKubeClientSet(client kubernetes.Interface) {
	c.p.SetExternalKubeClientSet(client)
}

// ValidateInitialization reports a plugin without its reader or client.
func (c clientPart) ValidateInitialization() error { return c.p.ValidateInitialization() }

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

// SetExternalKubeClientSet takes the client the plugin writes status.used with and sets up
// the evaluation workers (they end with Start's context). The storage reader must be set.
func (p *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	p.inner.SetExternalKubeClientSet(client)
	p.inner.SetExternalKubeInformerFactory(liveFactory{reader: p.reader})
	p.inner.SetQuotaConfiguration(quota.Configuration(nil, nil))
}

// ValidateInitialization reports a plugin without its reader or client.
func (p *Plugin) ValidateInitialization() error {
	if p.reader == nil {
		return errors.New("quotaadmission: missing object reader")
	}
	return p.inner.ValidateInitialization()
}

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
