package kubelet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"
	"k8s.io/klog/v2"
)

// Kubelet is one node agent. It implements interfaces.Component.
type Kubelet struct {
	cfg    Config
	rest   *rest.Config
	client kubernetes.Interface

	runtime cri.RuntimeService
	images  cri.ImageManagerService

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	// workerSeq numbers the pod workers in the order they were created (startgate.go).
	workerSeq uint64
	// starts bounds the pods being started in the runtime at once (startgate.go).
	starts  *startGate
	backoff *backoff
	// port is the logs/exec server's port, once listening.
	port int
	// ready is closed when the node is registered and pods are watched.
	ready chan struct{}
	// podLister lists the node's pods from the informer.
	podLister func() []*corev1.Pod
	// statics are the static pods by UID (from the manifest directory).
	statics map[types.UID]*corev1.Pod
	// rtName is the runtime's name, for container IDs.
	rtName string
	// probeHTTP and probeDial make the HTTP and TCP probes' connections (through
	// Config.PodDialer when set); each probe's context bounds its time.
	probeHTTP *http.Client
	probeDial func(ctx context.Context, network, address string) (net.Conn, error)
	// services lists every Service from the kubelet's informer (env.go), nil before Run.
	services func() ([]*corev1.Service, error)
	// recorder writes the kubelet's Events while Run runs (events.go).
	recorder atomic.Pointer[record.EventRecorder]
	// statusPosted is set once this Run has posted the node's status (the first post records
	// every pressure condition's Event, events.go).
	statusPosted atomic.Bool
	// statusReported is when the node's status was last written (node.go); guarded by mu.
	statusReported time.Time
	// systemOnce reads systemInfo, the machine's unchanging facts (node.go).
	systemOnce sync.Once
	systemInfo systemInfo
	// lease is the node's Lease as last written, renewed without a read first (node.go);
	// only the lease loop touches it.
	lease *coordinationv1.Lease
	// stats keeps the CPU readings the stats endpoints compute rates from (stats.go).
	stats statsState
	// lastRelist is the latest relist's fingerprint of each pod's sandboxes and containers, by
	// pod UID, and when it started (relist.go); guarded by mu.
	lastRelist   map[string]string
	lastRelistAt time.Time
	// secrets and configMaps serve the Secrets and ConfigMaps the node's pods reference from
	// one watch per object (objects.go); nil (a Kubelet not made by New) reads with GETs.
	secrets, configMaps *objectCache
}

// New returns a kubelet for the cluster at restCfg. It does not connect to
// anything: Run does.
func New(restCfg *rest.Config, cfg Config) (*Kubelet, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rc := rest.CopyConfig(restCfg)
	if rc.UserAgent == "" {
		rc.UserAgent = "clusterkit-kubelet/" + cfg.NodeName
	}
	if rc.QPS == 0 && rc.RateLimiter == nil {
		// The upstream kubelet's kubeAPIQPS and kubeAPIBurst defaults: client-go's own (5 and
		// 10) queue a burst of pods' status writes and Events for tens of seconds.
		rc.QPS, rc.Burst = DefaultKubeAPIQPS, DefaultKubeAPIBurst
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubelet: building the API client: %w", err)
	}
	probeDial := (&net.Dialer{}).DialContext
	if cfg.PodDialer != nil {
		probeDial = cfg.PodDialer
	}
	probeHTTP := newProbeClient(probeDial)
	k := &Kubelet{
		probeHTTP: probeHTTP,
		probeDial: probeDial,
		cfg:       cfg,
		rest:      rc,
		client:    client,
		runtime:   cfg.Runtime,
		images:    cfg.Images,
		workers:   map[types.UID]*podWorker{},
		backoff:   newBackoff(cfg.BackoffBase, cfg.BackoffCap),
		ready:     make(chan struct{}),
		statics:   map[types.UID]*corev1.Pod{},
		starts:    newStartGate(cfg.MaxParallelPodStarts),
	}
	k.secrets, k.configMaps = newSecretCache(client, k.logf), newConfigMapCache(client, k.logf)
	return k, nil
}

// Name implements interfaces.Component.
func (k *Kubelet) Name() string { return "kubelet/" + k.cfg.NodeName }

// NodeName is the node this kubelet serves.
func (k *Kubelet) NodeName() string { return k.cfg.NodeName }

// Ready is closed once the kubelet has registered its node and watches its
// pods.
func (k *Kubelet) Ready() <-chan struct{} { return k.ready }

// Port returns the logs/exec server's port (0 before Run listens).
func (k *Kubelet) Port() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.port
}

func (k *Kubelet) logf(format string, args ...any) {
	k.cfg.Logf("kubelet %s: "+format, append([]any{k.cfg.NodeName}, args...)...)
}

// Run implements interfaces.Component: it runs the node agent until ctx is
// done. Stopping the kubelet leaves every container running; the next Run
// adopts them.
func (k *Kubelet) Run(ctx context.Context) error {
	// The CRI client and the stream libraries log through the context's
	// logger: keep their noise (cancelled calls at shutdown) out of the
	// process's output.
	ctx = klog.NewContext(ctx, logr.Discard())
	if err := os.MkdirAll(k.cfg.PodLogsDir, 0o755); err != nil {
		return fmt.Errorf("kubelet: creating the pod log directory: %w", err)
	}
	if k.runtime == nil || k.images == nil {
		rs, err := remote.NewRemoteRuntimeService(ctx, k.cfg.RuntimeEndpoint, 2*time.Minute, nil, false)
		if err != nil {
			return fmt.Errorf("kubelet: connecting to the CRI runtime %s: %w", k.cfg.RuntimeEndpoint, err)
		}
		is, err := remote.NewRemoteImageService(ctx, k.cfg.RuntimeEndpoint, 2*time.Minute, nil, false)
		if err != nil {
			return fmt.Errorf("kubelet: connecting to the CRI image service %s: %w", k.cfg.RuntimeEndpoint, err)
		}
		k.runtime, k.images = rs, is
		defer func() { _ = rs.Close(context.Background()) }()
	}
	stopEvents := k.startEvents(ctx)
	defer stopEvents()
	// As the upstream kubelet's birth cry: one Starting Event on the Node per start.
	k.statusPosted.Store(false)
	k.nodeEventf(corev1.EventTypeNormal, "Starting", "Starting kubelet.")
	handler := k.Handler()
	var tlsConfig *tls.Config
	if k.cfg.secure() {
		auth, err := newAPIAuth(k.cfg, k.client)
		if err != nil {
			return err
		}
		if tlsConfig, err = k.cfg.servingTLS(); err != nil {
			return err
		}
		handler = auth.wrap(handler)
	}
	ln, err := net.Listen("tcp", k.cfg.ServerAddress)
	if err != nil {
		return fmt.Errorf("kubelet: listening on %s: %w", k.cfg.ServerAddress, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(logWriter(k.logf), "", 0),
		BaseContext: func(net.Listener) context.Context { return klog.NewContext(context.Background(), logr.Discard()) }}
	k.mu.Lock()
	k.port = ln.Addr().(*net.TCPAddr).Port
	k.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			k.logf("server: %v", err)
		}
	}()
	defer func() { _ = srv.Close() }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Static pods run without the API — the API server itself may be one of them — so they
	// start before the node registers; their mirror pods follow once it has.
	if k.cfg.StaticPodPath != "" {
		wg.Add(1)
		go func() { defer wg.Done(); k.staticLoop(ctx, &wg) }()
	}

	// Register the node (retrying while the API server is unavailable).
	for {
		err := k.registerNode(ctx)
		if err == nil {
			break
		}
		k.logf("registering node: %v", err)
		select {
		case <-ctx.Done():
			return nil
		case <-k.cfg.Clock.After(time.Second):
		}
	}
	wg.Add(2)
	go func() { defer wg.Done(); k.leaseLoop(ctx) }()
	go func() { defer wg.Done(); k.nodeStatusLoop(ctx) }()

	factory := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.cfg.NodeName).String()
		}))
	inf := factory.Core().V1().Pods()
	informer := inf.Informer()
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.podChanged(ctx, obj.(*corev1.Pod), &wg) },
		UpdateFunc: func(_, obj any) { k.podChanged(ctx, obj.(*corev1.Pod), &wg) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				k.podRemoved(p)
			}
		},
	})
	k.podLister = func() []*corev1.Pod {
		var out []*corev1.Pod
		for _, o := range informer.GetStore().List() {
			out = append(out, o.(*corev1.Pod))
		}
		return out
	}
	servicesSynced, stopServices := k.startServiceInformer(ctx)
	defer stopServices()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced, servicesSynced) {
		factory.Shutdown()
		return nil
	}
	defer factory.Shutdown()
	close(k.ready)
	k.logf("node registered, serving on 127.0.0.1:%d", k.Port())

	wg.Add(2)
	go func() { defer wg.Done(); k.housekeeping(ctx) }()
	go func() { defer wg.Done(); k.relistLoop(ctx) }()
	<-ctx.Done()
	return nil
}

// logWriter sends the API server's own errors (failed TLS handshakes …) to the kubelet's log.
type logWriter func(format string, args ...any)

func (l logWriter) Write(b []byte) (int, error) {
	l("server: %s", strings.TrimSpace(string(b)))
	return len(b), nil
}

// isMirror reports whether pod is the API mirror of a static pod.
func isMirror(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]
	return ok
}

// podChanged hands a new version of an API pod to its worker.
func (k *Kubelet) podChanged(ctx context.Context, pod *corev1.Pod, wg *sync.WaitGroup) {
	if isMirror(pod) {
		k.mirrorChanged(ctx, pod)
		return
	}
	k.updateWorker(ctx, pod, false, wg)
}

func (k *Kubelet) updateWorker(ctx context.Context, pod *corev1.Pod, static bool, wg *sync.WaitGroup) {
	k.mu.Lock()
	defer k.mu.Unlock()
	w, ok := k.workers[pod.UID]
	if !ok {
		if ctx.Err() != nil {
			return
		}
		w = newPodWorker(k, pod, static)
		if !static {
			k.registerPodObjects(ctx, pod)
		}
		k.workerSeq++
		w.seq = k.workerSeq
		k.workers[pod.UID] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
			k.mu.Lock()
			if k.workers[pod.UID] == w {
				delete(k.workers, pod.UID)
				if !static {
					k.unregisterPodObjects(pod.UID)
				}
			}
			k.mu.Unlock()
		}()
		return
	}
	if !static {
		// An ephemeral container may bring new references.
		k.registerPodObjects(ctx, pod)
	}
	w.update(pod)
}

// podRemoved tells a pod's worker that the pod is gone from the API.
func (k *Kubelet) podRemoved(pod *corev1.Pod) {
	if isMirror(pod) {
		return
	}
	k.mu.Lock()
	w := k.workers[pod.UID]
	k.mu.Unlock()
	if w != nil {
		w.remove()
	}
}

// workerFor finds the worker of the pod named namespace/name.
func (k *Kubelet) workerFor(namespace, name string) *podWorker {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, w := range k.workers {
		p := w.currentPod()
		if p.Namespace == namespace && p.Name == name {
			return w
		}
	}
	return nil
}

// housekeeping removes sandboxes of this node whose pods no longer exist
// (deleted while the kubelet was down).
func (k *Kubelet) housekeeping(ctx context.Context) {
	t := k.cfg.Clock.NewTicker(5 * k.cfg.SyncInterval)
	defer t.Stop()
	for {
		k.cleanOrphans(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

func (k *Kubelet) cleanOrphans(ctx context.Context) {
	sandboxes, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{LabelNode: k.cfg.NodeName}})
	if err != nil {
		return
	}
	known := map[string]bool{}
	for _, p := range k.podLister() {
		known[string(p.UID)] = true
	}
	k.mu.Lock()
	for uid := range k.workers {
		known[string(uid)] = true
	}
	for uid := range k.statics {
		known[string(uid)] = true
	}
	k.mu.Unlock()
	for _, sb := range sandboxes {
		uid := sb.Labels[LabelPodUID]
		if uid == "" || known[uid] {
			continue
		}
		k.logf("removing orphaned sandbox %s of pod UID %s", sb.Id, uid)
		k.killPodResources(ctx, uid, 0)
	}
}

// killPodResources stops every container of the pod UID (grace seconds
// each, in parallel), stops and removes its sandboxes and containers.
func (k *Kubelet) killPodResources(ctx context.Context, uid string, grace int64) {
	sel := map[string]string{LabelPodUID: uid}
	ctrs, _ := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	var wg sync.WaitGroup
	for _, c := range ctrs {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING || c.State == runtimeapi.ContainerState_CONTAINER_CREATED {
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				if err := ignoreNotFound(k.runtime.StopContainer(ctx, id, grace)); err != nil {
					k.logf("stopping container %s: %v", id, err)
				}
			}(c.Id)
		}
	}
	wg.Wait()
	sbs, _ := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	for _, sb := range sbs {
		_ = ignoreNotFound(k.runtime.StopPodSandbox(ctx, sb.Id))
	}
	for _, c := range ctrs {
		_ = ignoreNotFound(k.runtime.RemoveContainer(ctx, c.Id))
	}
	for _, sb := range sbs {
		_ = ignoreNotFound(k.runtime.RemovePodSandbox(ctx, sb.Id))
	}
	if uid != "" {
		if err := unmountUnder(k.podDir(uid)); err != nil {
			k.logf("unmounting the volumes of pod UID %s: %v", uid, err)
		}
		if err := os.RemoveAll(k.podDir(uid)); err != nil {
			k.logf("removing the volumes of pod UID %s: %v", uid, err)
		}
	}
}
