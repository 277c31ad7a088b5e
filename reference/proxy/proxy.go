package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Options tune a Proxy.
type Options struct {
	// Dataplane programs the node (default: NFTables in the process's own network namespace).
	Dataplane interfaces.ProxyDataplane
	// NodeIPs are where NodePorts are served; empty means the InternalIP and ExternalIP
	// addresses of the Node object named by the node name.
	NodeIPs []netip.Addr
	// KeepRulesOnExit leaves the dataplane programmed when Run returns (default: Cleanup).
	KeepRulesOnExit bool
	// RetryInterval is how long to wait after a failed Sync (default 1s).
	RetryInterval time.Duration
	// ResyncPeriod of the informers (default 0: none).
	ResyncPeriod time.Duration
}

// Proxy is kube-proxy's role: it follows Services and EndpointSlices and keeps the node's
// dataplane in step with them.
type Proxy struct {
	config   *rest.Config
	nodeName string
	opts     Options

	syncs   atomic.Int64
	errMu   sync.Mutex
	lastErr error
}

var _ interfaces.Component = (*Proxy)(nil)

// New builds a proxy for nodeName. It does not dial.
func New(config *rest.Config, nodeName string, opts Options) (*Proxy, error) {
	if config == nil {
		return nil, errors.New("proxy: rest.Config is required")
	}
	if nodeName == "" {
		return nil, errors.New("proxy: node name is required")
	}
	if opts.Dataplane == nil {
		opts.Dataplane = NewNFTables(NFTablesOptions{})
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	return &Proxy{config: rest.CopyConfig(config), nodeName: nodeName, opts: opts}, nil
}

// Name implements interfaces.Component.
func (p *Proxy) Name() string { return "proxy" }

// Syncs is how many Syncs of the dataplane succeeded.
func (p *Proxy) Syncs() int64 { return p.syncs.Load() }

// LastError is the error of the last failed Sync, nil after a success.
func (p *Proxy) LastError() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.lastErr
}

// Run follows the API server until ctx ends, then removes the dataplane's rules unless
// Options.KeepRulesOnExit.
func (p *Proxy) Run(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(p.config)
	if err != nil {
		return fmt.Errorf("proxy: client: %w", err)
	}
	// kube-proxy's event recorder (events.k8s.io/v1 when served, else core/v1), reporting
	// controller kube-proxy.
	eb := events.NewEventBroadcasterAdapterWithContext(ctx, client)
	eb.StartRecordingToSink(ctx.Done())
	defer eb.Shutdown()
	recorder := eb.NewRecorder("kube-proxy")
	factory := informers.NewSharedInformerFactory(client, p.opts.ResyncPeriod)
	svcInf := factory.Core().V1().Services()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	kick := make(chan struct{}, 1)
	notify := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	if _, err := svcInf.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	if _, err := sliceInf.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	synced := []cache.InformerSynced{svcInf.Informer().HasSynced, sliceInf.Informer().HasSynced}
	var nodeLister func() []netip.Addr
	if len(p.opts.NodeIPs) == 0 {
		nf := informers.NewSharedInformerFactoryWithOptions(client, p.opts.ResyncPeriod,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", p.nodeName).String()
			}))
		ni := nf.Core().V1().Nodes()
		if _, err := ni.Informer().AddEventHandler(handler); err != nil {
			return err
		}
		synced = append(synced, ni.Informer().HasSynced)
		nodeLister = func() []netip.Addr {
			n, err := ni.Lister().Get(p.nodeName)
			if err != nil {
				return nil
			}
			return nodeAddresses(n)
		}
		nf.Start(ctx.Done())
		defer nf.Shutdown()
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return p.exit(ctx.Err())
	}
	// Upstream kube-proxy's birth cry: a Starting Event on its Node (named as the kubelet names
	// it, UID the node's name), action StartKubeProxy.
	nodeRef := &corev1.ObjectReference{Kind: "Node", Name: p.nodeName, UID: types.UID(p.nodeName)}
	recorder.Eventf(nodeRef, nil, corev1.EventTypeNormal, "Starting", "StartKubeProxy", "")
	notify()
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return p.exit(nil)
		case <-kick:
		case <-retry:
		}
		retry = nil
		svcs, err := svcInf.Lister().List(labels.Everything())
		if err != nil {
			return err
		}
		slices, err := sliceInf.Lister().List(labels.Everything())
		if err != nil {
			return err
		}
		ips := p.opts.NodeIPs
		if nodeLister != nil {
			ips = nodeLister()
		}
		state := DesiredState(svcs, slices, p.nodeName, ips)
		err = p.opts.Dataplane.Sync(ctx, state)
		p.errMu.Lock()
		p.lastErr = err
		p.errMu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return p.exit(nil)
			}
			retry = time.After(p.opts.RetryInterval)
			continue
		}
		p.syncs.Add(1)
	}
}

func (p *Proxy) exit(err error) error {
	if p.opts.KeepRulesOnExit {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cerr := p.opts.Dataplane.Cleanup(ctx); cerr != nil {
		return errors.Join(err, fmt.Errorf("proxy: cleanup: %w", cerr))
	}
	return err
}

// nodeAddresses returns a Node's IPv4 InternalIP and ExternalIP addresses.
func nodeAddresses(n *corev1.Node) []netip.Addr {
	var out []netip.Addr
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
			out = append(out, ip)
		}
	}
	return out
}
