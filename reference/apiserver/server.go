package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/endpoints/filters"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/customresource"
	"github.com/clusterkit/clusterkit/reference/apiserver/metrics"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/version"
)

// DefaultBodyLimit is the largest request body accepted, as kube-apiserver (3 MiB).
const DefaultBodyLimit = 3 << 20

// Config configures a Server.
type Config struct {
	// Store persists every object. Required.
	Store interfaces.Store
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// BodyLimit is the largest request body in bytes (default DefaultBodyLimit).
	BodyLimit int64
	// GitVersion reported by /version (default: the build's, from package version: the
	// Kubernetes release of the k8s.io libraries clusterkit is built with); major, minor and
	// the emulation and compatibility versions are derived.
	GitVersion string
	// Profiling serves Go's runtime profiles at /debug/pprof/ (kube-apiserver's --profiling):
	// CPU, heap, goroutines, traces of the whole process, to whom the authorizer allows "get"
	// on those non-resource URLs (cluster-admin; nobody else by the bootstrap roles).
	Profiling bool
	// NoWatchCache reads every list from the store (kube-apiserver's --watch-cache=false); by
	// default lists are answered from a watch cache per resource (storage/watchcache.go).
	NoWatchCache bool
	// BookmarkInterval is how often watches that allow bookmarks get one (default 1 minute).
	BookmarkInterval time.Duration
	// NodeConnection reaches kubelets for pods/log, pods/exec (default KubeletConnection{}).
	NodeConnection NodeConnection
	// Resources served (default registry.DefaultResources()).
	Resources []*registry.Resource
	// DisableNamespaceCleanup turns off the built-in emptying of deleted namespaces; a namespace
	// controller must then empty them and clear spec.finalizers through namespaces/NAME/finalize.
	DisableNamespaceCleanup bool
	// NamespaceCleanupInterval is how often a terminating namespace is re-checked (default 1s).
	NamespaceCleanupInterval time.Duration
	// CompactionInterval is how often Serve compacts the store, keeping one interval of
	// history (kube-apiserver's --etcd-compaction-interval; DefaultCompactionInterval is its
	// default). 0 never compacts.
	CompactionInterval time.Duration
	// ErrorLog receives internal errors that have no client to go to (default: discarded).
	ErrorLog func(format string, args ...any)
	// ServiceCIDR is the IPv4 range ClusterIPs are allocated from (default DefaultServiceCIDR).
	ServiceCIDR string
	// NodePortRange is the "FIRST-LAST" range NodePorts are allocated from (default
	// DefaultNodePortRange).
	NodePortRange string
	// AllocationRepairInterval is how often leaked ClusterIPs and NodePorts are reclaimed, and how
	// old a leak must be to be reclaimed (default 1 minute); see allocator.go.
	AllocationRepairInterval time.Duration
	// AdvertiseAddress is the address of this server published in the Endpoints and the
	// EndpointSlice of the kubernetes Service (kubernetesservice.go). Unset, Serve publishes its
	// listener's address (on 0.0.0.0 or ::, the host's default-route interface address); a
	// server used only through Handler publishes nothing unless both Advertise fields are set.
	AdvertiseAddress netip.Addr
	// AdvertisePort is the port published with AdvertiseAddress (default: the listener's).
	AdvertisePort int
	// EndpointReconcileInterval is how often the kubernetes Service and its endpoints are
	// reconciled (default DefaultEndpointReconcileInterval); leases live 1.5 intervals.
	EndpointReconcileInterval time.Duration
	// Access is authentication and authorization (access.go). The zero value lets every
	// request through as a cluster administrator, for in-process harnesses; clusterkit up and
	// labs close it.
	Access Access
	// TLS, when set, makes Serve speak HTTPS only with this configuration (its Certificates
	// or GetCertificate serve; ClientAuth tls.RequestClientCert lets Access's x509
	// authenticator verify client certificates against the cluster CA). A plain-HTTP request
	// to the port is answered 400 and never reaches the handler.
	TLS *tls.Config
	// Admission plugins run on every write of a stored resource (admission.go); nil admits
	// everything.
	Admission admission.Interface
	// ServiceAccountIssuer signs the tokens of serviceaccounts/NAME/token (TokenRequest) and is
	// published at /.well-known/openid-configuration and /openid/v1/jwks (tokens.go). nil serves
	// neither, as kube-apiserver without a signing key.
	ServiceAccountIssuer *serviceaccount.Issuer
	// ServiceAccountTokens are the TokenRequest settings: expiry cap and extension; its
	// APIAudiences default to Access.APIAudiences, else the issuer.
	ServiceAccountTokens serviceaccount.RequestOptions
	// Encryption transforms the stored values of the resources it names (encryption at rest,
	// built from an EncryptionConfiguration by package encryption); nil stores every value as
	// it is.
	Encryption storage.Transformers
	// ConversionWebhooks is how the conversion webhooks of CustomResourceDefinitions with the
	// Webhook strategy are reached (zero: a clientConfig.service by its DNS name, over the
	// host's network).
	ConversionWebhooks customresource.WebhookReach
	// Aggregation proxies the group-versions of APIServices backed by extension API servers
	// and adds them to discovery (aggregated.go); nil serves no extension servers.
	Aggregation Aggregation
}

// Server is the API server. It is safe for concurrent use.
type Server struct {
	cfg Config
	// reg is the served registry: the built-in resources plus those of established
	// CustomResourceDefinitions, swapped whole when a CRD changes (crd.go).
	reg    atomic.Pointer[registry.Registry]
	scheme *runtime.Scheme
	// protobuf encodes responses for clients that negotiated Kubernetes protobuf; protobufRaw
	// encodes the WatchEvent frames of their watches (no envelope, as apimachinery's streaming
	// serializer).
	protobuf    *protobuf.Serializer
	protobufRaw *protobuf.RawSerializer
	// fields are the field managers of server-side apply and managedFields.
	fields  *fieldManagers
	objects *storage.Objects
	ranges  *ranges
	handler http.Handler
	openapi *openAPIService
	// objectInterfaces serve admission plugins (conversion, defaulting) from the scheme.
	objectInterfaces admission.ObjectInterfaces
	// ephemeral answers creates of the resources that are not stored (ephemeral.go).
	ephemeral map[schema.GroupResource]ephemeralFunc
	// crds is the CRD controller's state (crd.go).
	crds *crdState
	// discovery serves the ServiceAccount issuer's discovery documents (nil: no issuer).
	discovery *serviceaccount.Discovery
	// metrics count and time every request and are served at /metrics (observability.go).
	metrics *metrics.Metrics

	bg       context.Context
	cancelBG context.CancelFunc

	bootMu   sync.Mutex
	booted   bool
	cleaning sync.Map // namespace name -> struct{}: cleanups running
	wg       sync.WaitGroup
	kube     kubernetesService
}

// New builds a Server. It does not touch the network or the store.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("apiserver: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.BookmarkInterval <= 0 {
		cfg.BookmarkInterval = time.Minute
	}
	if cfg.NodeConnection == nil {
		cfg.NodeConnection = KubeletConnection{}
	}
	if cfg.Resources == nil {
		cfg.Resources = registry.DefaultResources()
	}
	if cfg.NamespaceCleanupInterval <= 0 {
		cfg.NamespaceCleanupInterval = time.Second
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = func(string, ...any) {}
	}
	if cfg.AllocationRepairInterval <= 0 {
		cfg.AllocationRepairInterval = time.Minute
	}
	if cfg.EndpointReconcileInterval <= 0 {
		cfg.EndpointReconcileInterval = DefaultEndpointReconcileInterval
	}
	ips, err := parseServiceCIDR(cfg.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	ports, err := parsePortRange(cfg.NodePortRange)
	if err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	reg, err := registry.New(cfg.Resources)
	if err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, fmt.Errorf("apiserver: scheme: %w", err)
	}
	s := &Server{cfg: cfg, scheme: scheme, protobuf: protobuf.NewSerializer(scheme, scheme), protobufRaw: protobuf.NewRawSerializer(scheme, scheme), objects: storage.NewTransformed(cfg.Store, cfg.Encryption), metrics: metrics.New()}
	if cfg.NoWatchCache {
		s.objects.DisableWatchCache()
	}
	s.reg.Store(reg)
	conversions, err := customresource.NewConverterFactory(cfg.ConversionWebhooks)
	if err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	s.crds = newCRDState(cfg.Resources, customresource.NewBuilder(conversions))
	s.objectInterfaces = admission.NewObjectInterfacesFromScheme(scheme)
	s.fields = newFieldManagers(scheme)
	s.ephemeral = s.ephemeralHandlers()
	s.ranges = &ranges{kv: cfg.Store, ips: ips, ports: ports, now: cfg.Now}
	s.bg, s.cancelBG = context.WithCancel(context.Background())
	oa, err := newOpenAPIService(reg)
	if err != nil {
		return nil, fmt.Errorf("apiserver: openapi: %w", err)
	}
	s.openapi = oa
	if cfg.ServiceAccountIssuer != nil {
		if s.discovery, err = cfg.ServiceAccountIssuer.Discovery(); err != nil {
			return nil, fmt.Errorf("apiserver: %w", err)
		}
	}
	// Admission plugins add warnings through the request context (k8s.io/apiserver/pkg/warning).
	s.handler = withGrownStack(filters.WithWarningRecorder(s.withAccess(http.HandlerFunc(s.serveHTTP))))
	if err := s.initAdmission(cfg.Admission); err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	return s, nil
}

// Registry returns the resources served now (custom resources come and go with their CRDs).
func (s *Server) Registry() *registry.Registry { return s.registry() }

// registry returns the resources served now.
func (s *Server) registry() *registry.Registry { return s.reg.Load() }

// Handler returns the server's HTTP handler. The default namespaces are created on the first
// request if Bootstrap was not called.
func (s *Server) Handler() http.Handler { return s.handler }

// Bootstrap creates the namespaces that exist in every cluster (default, kube-system,
// kube-public, kube-node-lease), resumes the cleanup of terminating namespaces and, when
// Config.AdvertiseAddress and AdvertisePort are set, starts keeping the kubernetes Service (Serve
// starts it otherwise, with its listener's address). It is idempotent.
func (s *Server) Bootstrap(ctx context.Context) error {
	s.bootMu.Lock()
	defer s.bootMu.Unlock()
	if s.booted {
		return nil
	}
	if err := s.ensureSystemNamespaces(ctx); err != nil {
		return err
	}
	if err := s.ensureBootstrapObjects(ctx); err != nil {
		return err
	}
	s.resumeNamespaceCleanups(ctx)
	if err := s.repairAllocations(ctx, s.cfg.AllocationRepairInterval); err != nil {
		s.cfg.ErrorLog("apiserver: repairing service allocations: %v", err)
	}
	s.runAllocationRepair(s.cfg.AllocationRepairInterval)
	s.startKubernetesService(ctx, s.cfg.AdvertiseAddress, s.cfg.AdvertisePort)
	s.runCRDController(ctx)
	s.booted = true
	return nil
}

// Close stops background work (namespace cleanups, the kubernetes Service, whose endpoints lose
// this server's address) and waits for it. It does not close the Store.
func (s *Server) Close() error {
	s.stopKubernetesService()
	s.cancelBG()
	s.wg.Wait()
	return nil
}

// Serve bootstraps, starts keeping the kubernetes Service with ln's address (unless Config
// says otherwise), and serves HTTP on ln until ctx is done, then removes this server from the
// kubernetes Service's endpoints and shuts down gracefully (over TLS when Config.TLS is set) (long-running watches are cut after a
// short grace).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.Bootstrap(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	addr, port := s.advertised(ln)
	s.startKubernetesService(ctx, addr, port)
	if s.cfg.CompactionInterval > 0 {
		s.startCompaction(s.cfg.CompactionInterval)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.bg },
		// Connection-level errors (a plain-HTTP request to the TLS port ...) go to ErrorLog.
		ErrorLog: log.New(errorLogWriter(s.cfg.ErrorLog), "", 0),
	}
	fresh := &newConns{m: map[net.Conn]struct{}{}}
	srv.ConnState = fresh.track
	errc := make(chan error, 1)
	if s.cfg.TLS != nil {
		srv.TLSConfig = s.cfg.TLS.Clone()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		_ = s.Close()
		return err
	case <-ctx.Done():
	}
	s.stopKubernetesService()
	// Watches never end on their own: cancel them through the base context, then shut down.
	s.cancelBG()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fresh.closeAll()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		_ = srv.Close()
	}
	<-errc
	s.wg.Wait()
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// errorLogWriter turns the lines of a log.Logger into ErrorLog calls.
type errorLogWriter func(format string, args ...any)

func (f errorLogWriter) Write(p []byte) (int, error) {
	f("apiserver: %s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// versionInfo is /version: the build's version (package version), or Config.GitVersion.
func (s *Server) versionInfo() apiversion.Info {
	info := version.Get()
	if gv := s.cfg.GitVersion; gv != "" && gv != info.GitVersion {
		info.GitVersion = gv
		info.Major, info.Minor = "", ""
		if major, minor, ok := version.MajorMinor(gv); ok {
			info.Major, info.Minor = strconv.Itoa(major), strconv.Itoa(minor)
		}
		info.EmulationMajor, info.EmulationMinor = info.Major, info.Minor
		info.MinCompatibilityMajor, info.MinCompatibilityMinor = "", ""
	}
	return info
}

// serveHTTP is the top-level router.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.cfg.ErrorLog("apiserver: panic serving %s %s: %v\n%s", r.Method, r.URL.Path, rec, debug.Stack())
			writeError(w, apierrors.NewInternalError(fmt.Errorf("panic: %v", rec)))
		}
	}()
	if err := s.Bootstrap(r.Context()); err != nil {
		writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("bootstrapping: %v", err)))
		return
	}
	path := r.URL.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	switch {
	case path == "/version":
		writeJSON(w, http.StatusOK, s.versionInfo())
	case path == "/metrics":
		s.metrics.Handler().ServeHTTP(w, r)
	case s.cfg.Profiling && (path == "/debug/pprof" || strings.HasPrefix(path, "/debug/pprof/")):
		serveProfiling(w, r)
	case path == "/healthz" || path == "/livez" || strings.HasPrefix(path, "/livez/") || strings.HasPrefix(path, "/healthz/"):
		s.serveHealth(w, r, false)
	case path == "/readyz" || strings.HasPrefix(path, "/readyz/"):
		s.serveHealth(w, r, true)
	case path == serviceaccount.OpenIDConfigPath || path == serviceaccount.JWKSPath:
		s.serveIssuerDiscovery(w, r)
	case path == "/openapi/v2" || path == "/openapi/v3" || strings.HasPrefix(path, "/openapi/v3/"):
		s.openapi.ServeHTTP(w, r)
	case path == "/api" || path == "/apis":
		s.serveRootDiscovery(w, r, path == "/api")
	case strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/apis/"):
		if s.proxyAggregated(w, r, path) {
			return
		}
		s.serveAPI(w, r, path)
	case path == "/":
		s.serveRootPaths(w)
	default:
		writeError(w, notFoundPath())
	}
}

// newConns are the connections that have not begun a request (http.StateNew). Shutdown counts
// them as busy for 5 s, in case a request is about to arrive; a client's spare connection (Go's
// transport keeps one it dialled while another became free) thus held every shutdown that long.
// Nothing is in flight on them: they are closed first.
type newConns struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (n *newConns) track(c net.Conn, st http.ConnState) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if st == http.StateNew {
		n.m[c] = struct{}{}
	} else {
		delete(n.m, c)
	}
}

func (n *newConns) closeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.m {
		_ = c.Close()
		delete(n.m, c)
	}
}
