package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Defaults of Config.
const (
	DefaultWorkers     = 4
	DefaultBaseBackoff = 5 * time.Millisecond
	DefaultMaxBackoff  = time.Minute
	// DefaultResync re-delivers every cached object to the handlers this
	// often, so level-based controllers re-check everything now and then.
	DefaultResync = 5 * time.Minute
	// DefaultQPS and DefaultBurst apply when the rest.Config sets no QPS.
	DefaultQPS   = 1000
	DefaultBurst = 2000
)

// Context is what a Factory builds its controller from.
type Context struct {
	// Client is a typed client of the API server.
	Client kubernetes.Interface
	// Dynamic is a dynamic client of the API server (garbage collection).
	Dynamic dynamic.Interface
	// Informers is shared by every controller of the runner; a factory asks
	// it for the informers it needs and registers handlers on them.
	Informers informers.SharedInformerFactory
	// DynamicInformers is the shared factory of dynamic informers.
	DynamicInformers dynamicinformer.DynamicSharedInformerFactory
	// Clock is the manager's clock: measure every grace period, deadline and
	// age with it (never time.Now), so tests can run in virtual time.
	Clock Clock
	// Queue receives the keys the controller's handlers map events to.
	Queue interfaces.KeyQueue
	// Log receives the controller's diagnostics.
	Log func(format string, args ...any)
	// Recorder writes the controller's Events (client-go's tools/record, as
	// kube-controller-manager's controllers do), with source component
	// Config.EventSource of the controller's name. Nil in a Context built by
	// hand: use Eventf, which then does nothing.
	Recorder record.EventRecorder
}

// Eventf records an Event about obj through c.Recorder, when there is one.
func (c Context) Eventf(obj runtime.Object, eventType, reason, messageFmt string, args ...any) {
	if c.Recorder != nil {
		c.Recorder.Eventf(obj, eventType, reason, messageFmt, args...)
	}
}

// Clock is the manager's clock: k8s.io/utils/clock's RealClock and the
// FakeClock of k8s.io/utils/clock/testing both implement it.
type Clock interface {
	clock.WithTicker
	AfterFunc(d time.Duration, f func()) clock.Timer
}

// Factory builds one controller. It must not dial the network: the
// informers start after every factory has run.
type Factory func(c Context) (interfaces.Controller, error)

// Named is a factory under the name the manager selects it by.
type Named struct {
	Name    string
	Factory Factory
}

// Config configures a Runner.
type Config struct {
	// RESTConfig reaches the API server. Required. The shared informers read with it, and
	// every controller writes with it unless ClientConfigFor says otherwise.
	RESTConfig *rest.Config
	// ClientConfigFor, when set, returns the configuration the named controller's clients use
	// (kube-controller-manager's --use-service-account-credentials gives each controller the
	// token of its own ServiceAccount). It is called from Run, and may dial.
	ClientConfigFor func(controller string) (*rest.Config, error)
	// Clock is the controllers' clock and drives RequeueAfter (default: the
	// real clock).
	Clock Clock
	// QueueClock drives the retry backoff of failed keys (default: the real
	// clock). It is separate from Clock so that a frozen virtual clock does
	// not stall retries of transient API errors; tests of the backoff itself
	// set both to the same fake clock.
	QueueClock clock.WithTicker
	// Workers per controller (default DefaultWorkers).
	Workers int
	// Resync period of the shared informers (default DefaultResync).
	Resync time.Duration
	// BaseBackoff and MaxBackoff bound the exponential retry delay of a
	// failing key (defaults DefaultBaseBackoff, DefaultMaxBackoff).
	BaseBackoff, MaxBackoff time.Duration
	// Log receives diagnostics (default: discarded).
	Log func(format string, args ...any)
	// EventSource returns the source component of the named controller's
	// Events (default: the name).
	EventSource func(controller string) string
}

// Runner runs a set of controllers against one API server. It implements
// interfaces.Component. A Runner runs once; build a new one to restart.
type Runner struct {
	cfg        Config
	factories  []Named
	reconciles atomic.Int64
	failures   atomic.Int64
	synced     chan struct{}
	ran        atomic.Bool
}

var _ interfaces.Component = (*Runner)(nil)

// New returns a Runner of the named factories. It does not dial.
func New(cfg Config, factories ...Named) (*Runner, error) {
	if cfg.RESTConfig == nil {
		return nil, errors.New("runner: Config.RESTConfig is required")
	}
	seen := map[string]bool{}
	for _, f := range factories {
		if f.Name == "" || f.Factory == nil {
			return nil, fmt.Errorf("runner: controller %q has no name or no factory", f.Name)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("runner: two controllers are named %q", f.Name)
		}
		seen[f.Name] = true
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.QueueClock == nil {
		cfg.QueueClock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = DefaultBaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	rc := rest.CopyConfig(cfg.RESTConfig)
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = DefaultQPS, DefaultBurst
	}
	cfg.RESTConfig = rc
	return &Runner{cfg: cfg, factories: factories, synced: make(chan struct{})}, nil
}

// Name implements interfaces.Component.
func (r *Runner) Name() string { return "controller-manager" }

// Reconciles is the number of Reconcile calls so far, successful or not.
func (r *Runner) Reconciles() int64 { return r.reconciles.Load() }

// Failures is the number of Reconcile calls that returned an error.
func (r *Runner) Failures() int64 { return r.failures.Load() }

// Synced is closed once the informers' caches are synced and the workers run.
func (r *Runner) Synced() <-chan struct{} { return r.synced }

// clientsFor returns the clients the named controller writes with: its own when
// Config.ClientConfigFor gives a configuration, else the shared ones.
func (r *Runner) clientsFor(name string, client kubernetes.Interface, dyn dynamic.Interface) (kubernetes.Interface, dynamic.Interface, error) {
	if r.cfg.ClientConfigFor == nil {
		return client, dyn, nil
	}
	rc, err := r.cfg.ClientConfigFor(name)
	if err != nil {
		return nil, nil, fmt.Errorf("runner: the credentials of controller %s: %w", name, err)
	}
	rc = rest.CopyConfig(rc)
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = r.cfg.RESTConfig.QPS, r.cfg.RESTConfig.Burst
	}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("runner: building the client of %s: %w", name, err)
	}
	d, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("runner: building the dynamic client of %s: %w", name, err)
	}
	return c, d, nil
}

// Run builds the controllers, starts the informers and the workers, and runs
// until ctx is done. It returns an error only when a controller cannot be
// built; API errors are retried.
func (r *Runner) Run(ctx context.Context) error {
	if !r.ran.CompareAndSwap(false, true) {
		return errors.New("runner: Run called twice; build a new Runner to restart")
	}
	began := time.Now()
	client, err := kubernetes.NewForConfig(r.cfg.RESTConfig)
	if err != nil {
		return fmt.Errorf("runner: building the client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(r.cfg.RESTConfig)
	if err != nil {
		return fmt.Errorf("runner: building the dynamic client: %w", err)
	}
	shared := informers.NewSharedInformerFactory(client, r.cfg.Resync)
	dynShared := dynamicinformer.NewDynamicSharedInformerFactory(dyn, r.cfg.Resync)

	type running struct {
		ctrl  interfaces.Controller
		queue *keyQueue
	}
	var all []running
	// Each controller has its own event broadcaster writing with its own client, as in
	// kube-controller-manager; all are shut down when Run returns.
	var broadcasters []record.EventBroadcaster
	defer func() {
		for _, b := range broadcasters {
			b.Shutdown()
		}
	}()
	// Each controller's credentials at once: with ServiceAccount credentials each is a
	// ServiceAccount to find or create (round trips that, one after another, delayed every
	// controller by seconds on a cluster just started).
	type clients struct {
		client kubernetes.Interface
		dyn    dynamic.Interface
		err    error
	}
	creds := make([]clients, len(r.factories))
	var credWG sync.WaitGroup
	for i, f := range r.factories {
		credWG.Add(1)
		go func() {
			defer credWG.Done()
			c, d, err := r.clientsFor(f.Name, client, dyn)
			creds[i] = clients{c, d, err}
		}()
	}
	credWG.Wait()
	for i, f := range r.factories {
		q := newKeyQueue(f.Name, r.cfg)
		cClient, cDyn, err := creds[i].client, creds[i].dyn, creds[i].err
		if err != nil {
			q.shutDown()
			for _, x := range all {
				x.queue.shutDown()
			}
			return err
		}
		source := f.Name
		if r.cfg.EventSource != nil {
			source = r.cfg.EventSource(f.Name)
		}
		b := record.NewBroadcaster(record.WithContext(ctx))
		broadcasters = append(broadcasters, b)
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cClient.CoreV1().Events("")})
		ctrl, err := f.Factory(Context{
			Client: cClient, Dynamic: cDyn, Informers: shared, DynamicInformers: dynShared,
			Clock: r.cfg.Clock, Queue: q,
			Log:      func(format string, args ...any) { r.cfg.Log(f.Name+": "+format, args...) },
			Recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: source}),
		})
		if err != nil {
			q.shutDown()
			for _, x := range all {
				x.queue.shutDown()
			}
			return fmt.Errorf("runner: building controller %s: %w", f.Name, err)
		}
		all = append(all, running{ctrl, q})
	}
	built := time.Now()
	r.cfg.Log("%d controllers built in %s; starting the informers", len(all), built.Sub(began).Round(time.Millisecond))
	stop := ctx.Done()
	shared.Start(stop)
	dynShared.Start(stop)
	defer func() {
		for _, x := range all {
			x.queue.shutDown()
		}
		shared.Shutdown()
		dynShared.Shutdown()
	}()
	for t, ok := range shared.WaitForCacheSync(stop) {
		if !ok {
			return ctxErrOr(ctx, fmt.Errorf("runner: the informer of %v did not sync", t))
		}
	}
	for t, ok := range dynShared.WaitForCacheSync(stop) {
		if !ok {
			return ctxErrOr(ctx, fmt.Errorf("runner: the informer of %v did not sync", t))
		}
	}
	r.cfg.Log("informers synced in %s; controllers running", time.Since(built).Round(time.Millisecond))
	close(r.synced)
	var wg sync.WaitGroup
	for _, x := range all {
		for range r.cfg.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.work(ctx, x.ctrl, x.queue)
			}()
		}
	}
	<-stop
	for _, x := range all {
		x.queue.shutDown()
	}
	wg.Wait()
	return nil
}

func ctxErrOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (r *Runner) work(ctx context.Context, c interfaces.Controller, q *keyQueue) {
	for {
		key, shutdown := q.q.Get()
		if shutdown {
			return
		}
		r.reconcileOne(ctx, c, q, key)
	}
}

func (r *Runner) reconcileOne(ctx context.Context, c interfaces.Controller, q *keyQueue, key string) {
	defer q.q.Done(key)
	res, err := safeReconcile(ctx, c, key)
	r.reconciles.Add(1)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		r.failures.Add(1)
		if !apierrors.IsConflict(err) {
			r.cfg.Log("%s: reconciling %q (attempt %d): %v", c.Name(), key, q.q.NumRequeues(key)+1, err)
		}
		q.q.AddRateLimited(key)
		return
	}
	q.q.Forget(key)
	if res.RequeueAfter > 0 {
		q.AddAfter(key, res.RequeueAfter)
	}
}

func safeReconcile(ctx context.Context, c interfaces.Controller, key string) (res interfaces.ReconcileResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.Reconcile(ctx, key)
}

// keyQueue is a controller's interfaces.KeyQueue: a rate-limited work queue
// for retries, and timers on the manager's clock for AddAfter.
type keyQueue struct {
	q     workqueue.TypedRateLimitingInterface[string]
	clock Clock

	mu      sync.Mutex
	pending map[string]time.Time // earliest scheduled AddAfter per key
	closed  bool
}

func newKeyQueue(name string, cfg Config) *keyQueue {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](cfg.BaseBackoff, cfg.MaxBackoff)
	return &keyQueue{
		q: workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[string]{
			Name: name, Clock: cfg.QueueClock,
		}),
		clock:   cfg.Clock,
		pending: map[string]time.Time{},
	}
}

func (k *keyQueue) Add(key string) { k.q.Add(key) }

// AddAfter adds key after d on the manager's clock. Of several requests for
// the same key only the earliest pending one keeps a timer.
func (k *keyQueue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		k.q.Add(key)
		return
	}
	at := k.clock.Now().Add(d)
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	if old, ok := k.pending[key]; ok && !old.After(at) {
		k.mu.Unlock()
		return
	}
	k.pending[key] = at
	k.mu.Unlock()
	k.clock.AfterFunc(d, func() {
		k.mu.Lock()
		if cur, ok := k.pending[key]; ok && cur.Equal(at) {
			delete(k.pending, key)
		}
		k.mu.Unlock()
		k.q.Add(key)
	})
}

func (k *keyQueue) shutDown() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.q.ShutDown()
}
