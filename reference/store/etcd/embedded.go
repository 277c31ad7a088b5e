package etcdstore

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// memberName is the name of the single member of an embedded etcd. A data
// directory remembers it, so restores (RestoreSnapshot) use the same name.
const memberName = "clusterkit"

// loopbackAnyPort is the URL the embedded etcd listens on: loopback, with a
// port chosen by the kernel at bind time, so parallel instances never race
// for a port. The advertised peer URL is never dialled (there is one member)
// and stays the same across restarts, restores and a switch to TLS, which
// keeps the membership stored in the data directory consistent.
const loopbackAnyPort = "http://127.0.0.1:0"

// loopbackAnyPortTLS is where an embedded etcd with ServerTLS listens (for
// clients and peers): HTTPS only, nothing in plain text.
const loopbackAnyPortTLS = "https://127.0.0.1:0"

// defaultStartTimeout bounds how long StartEmbedded waits for the server to
// become ready when the context has no deadline.
const defaultStartTimeout = 60 * time.Second

// EmbeddedConfig configures an in-process, single-member etcd.
type EmbeddedConfig struct {
	// DataDir is etcd's data directory (created if missing). Required.
	DataDir string
	// UnsafeNoFsync disables fsync: much faster, but a machine crash may
	// lose acknowledged writes. For tests and throw-away clusters.
	UnsafeNoFsync bool
	// Logger receives etcd's own logs. Nil discards them. Either way the
	// harmless errors etcd logs while shutting down are dropped.
	Logger *zap.Logger
	// QuotaBackendBytes is the backend size quota; 0 keeps etcd's default
	// (2 GiB).
	QuotaBackendBytes int64
	// TLS, when set, makes the server listen with HTTPS only (clients and
	// peers) and accept only clients presenting a certificate signed by
	// TLS.TrustedCAFile, as kubeadm's etcd (--client-cert-auth). ClientTLS is
	// then required.
	TLS *ServerTLS
	// ListenClientURL is where the server serves clients (etcd's --listen-client-urls, one
	// URL, e.g. https://127.0.0.1:2379); empty picks a free loopback port. Its scheme must
	// agree with TLS.
	ListenClientURL string
	// ClientTLS is the TLS configuration of the client Client returns (its
	// certificate and the CA it trusts); see ClientTLS.
	ClientTLS *tls.Config
	// Member, when set, makes the server one member of a cluster of several (an HA control
	// plane's stacked etcd) instead of a lone loopback member.
	Member *Member
}

// Member places an embedded etcd in a cluster of several members, as etcd's --name,
// --listen-peer-urls and --initial-advertise-peer-urls, --initial-cluster,
// --initial-cluster-state and --initial-cluster-token.
type Member struct {
	// Name is this member's name, as InitialCluster lists it.
	Name string
	// PeerURL is where this member listens for its peers and what it advertises to them
	// (https with TLS, e.g. https://10.0.0.2:2380).
	PeerURL string
	// InitialCluster lists every member of a new cluster as NAME=PEERURL,… (this one
	// included).
	InitialCluster string
	// InitialClusterState is "new" (the default: the members listed start the cluster
	// together) or "existing" (joining a running cluster this member was added to).
	InitialClusterState string
	// InitialClusterToken tells clusters apart (default "clusterkit").
	InitialClusterToken string
}

// ServerTLS are the files of an embedded etcd's TLS, as etcd's --cert-file,
// --key-file, --trusted-ca-file and the --peer-* flags.
type ServerTLS struct {
	// CertFile and KeyFile are the serving certificate and its key.
	CertFile, KeyFile string
	// PeerCertFile and PeerKeyFile serve the peer port; empty uses
	// CertFile and KeyFile.
	PeerCertFile, PeerKeyFile string
	// TrustedCAFile is the CA that must have signed every client's and
	// peer's certificate.
	TrustedCAFile string
}

// Embedded is a running in-process etcd server listening on loopback.
type Embedded struct {
	etcd      *embed.Etcd
	endpoints []string
	clientTLS *tls.Config

	clientOnce sync.Once
	client     *clientv3.Client
	clientErr  error

	closeOnce sync.Once
}

// StartEmbedded starts a single-member etcd on cfg.DataDir, listening for
// clients on a free loopback port, and returns once the server is ready to
// serve requests (or ctx ends, or the server fails to start). The data
// directory must not be in use by another etcd.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("embedded etcd: a data directory is required")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: data directory %q: %w", cfg.DataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: cannot create data directory %q: %w — choose a writable --data-dir", dir, err)
	}
	if cfg.TLS != nil && cfg.ClientTLS == nil {
		return nil, errors.New("embedded etcd: TLS without ClientTLS — the server would refuse its own client")
	}
	if err := checkDataDirFree(dir); err != nil {
		return nil, err
	}

	ecfg, err := embedConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(ecfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: cannot start on data directory %q: %w", dir, err)
	}

	timeout := time.NewTimer(defaultStartTimeout)
	defer timeout.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		closeEtcd(e)
		return nil, fmt.Errorf("embedded etcd on %q failed while starting: %w", dir, err)
	case <-ctx.Done():
		closeEtcd(e)
		return nil, fmt.Errorf("embedded etcd on %q: not ready: %w", dir, ctx.Err())
	case <-timeout.C:
		closeEtcd(e)
		return nil, fmt.Errorf("embedded etcd on %q: not ready after %s — the data directory may be damaged; restore a snapshot into a new --data-dir", dir, defaultStartTimeout)
	}

	endpoints := make([]string, 0, len(e.Clients))
	for _, l := range e.Clients {
		endpoints = append(endpoints, l.Addr().String())
	}
	return &Embedded{etcd: e, endpoints: endpoints, clientTLS: cfg.ClientTLS}, nil
}

// embedConfig builds etcd's configuration for a single loopback member.
func embedConfig(dir string, cfg EmbeddedConfig) (*embed.Config, error) {
	u, err := url.Parse(loopbackAnyPort)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	} else {
		lg = zap.New(shutdownNoiseFilter{Core: lg.Core()})
	}

	listen := *u
	ecfg := embed.NewConfig()
	if t := cfg.TLS; t != nil {
		lu, err := url.Parse(loopbackAnyPortTLS)
		if err != nil {
			return nil, fmt.Errorf("embedded etcd: %w", err)
		}
		listen = *lu
		ecfg.ClientTLSInfo = transport.TLSInfo{CertFile: t.CertFile, KeyFile: t.KeyFile, TrustedCAFile: t.TrustedCAFile, ClientCertAuth: true}
		ecfg.PeerTLSInfo = transport.TLSInfo{
			CertFile: cmp.Or(t.PeerCertFile, t.CertFile), KeyFile: cmp.Or(t.PeerKeyFile, t.KeyFile),
			TrustedCAFile: t.TrustedCAFile, ClientCertAuth: true,
		}
	}
	ecfg.Name = memberName
	ecfg.Dir = dir
	client := listen
	if cfg.ListenClientURL != "" {
		cu, err := url.Parse(cfg.ListenClientURL)
		if err != nil {
			return nil, fmt.Errorf("embedded etcd: listen client URL: %w", err)
		}
		if (cu.Scheme == "https") != (cfg.TLS != nil) {
			return nil, fmt.Errorf("embedded etcd: listen client URL %s: https if and only if TLS is set", cfg.ListenClientURL)
		}
		client = *cu
	}
	ecfg.ListenClientUrls = []url.URL{client}
	ecfg.AdvertiseClientUrls = []url.URL{client}
	ecfg.ListenPeerUrls = []url.URL{listen}
	// The advertised peer URL stays plain: it is never dialled and it is
	// part of the membership stored in the data directory.
	ecfg.AdvertisePeerUrls = []url.URL{*u}
	ecfg.InitialCluster = memberName + "=" + loopbackAnyPort
	ecfg.InitialClusterToken = memberName
	if m := cfg.Member; m != nil {
		if m.Name == "" || m.PeerURL == "" || m.InitialCluster == "" {
			return nil, errors.New("embedded etcd: a cluster member needs its name, its peer URL and the initial cluster")
		}
		pu, err := url.Parse(m.PeerURL)
		if err != nil {
			return nil, fmt.Errorf("embedded etcd: peer URL: %w", err)
		}
		if (pu.Scheme == "https") != (cfg.TLS != nil) {
			return nil, fmt.Errorf("embedded etcd: peer URL %s: https if and only if TLS is set", m.PeerURL)
		}
		ecfg.Name = m.Name
		ecfg.ListenPeerUrls, ecfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		ecfg.InitialCluster = m.InitialCluster
		ecfg.ClusterState = cmp.Or(m.InitialClusterState, embed.ClusterStateFlagNew)
		ecfg.InitialClusterToken = cmp.Or(m.InitialClusterToken, memberName)
	}
	ecfg.UnsafeNoFsync = cfg.UnsafeNoFsync
	ecfg.QuotaBackendBytes = cfg.QuotaBackendBytes
	ecfg.Logger = "zap"
	ecfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	return ecfg, nil
}

// Endpoints returns the client addresses (host:port) the server listens on.
func (e *Embedded) Endpoints() []string {
	return append([]string(nil), e.endpoints...)
}

// Done is closed when the server has stopped, by Close or on its own (a fatal error).
func (e *Embedded) Done() <-chan struct{} {
	return e.etcd.Server.StopNotify()
}

// PeerEndpoints returns the addresses (host:port) of the peer listener.
func (e *Embedded) PeerEndpoints() []string {
	out := make([]string, 0, len(e.etcd.Peers))
	for _, p := range e.etcd.Peers {
		out = append(out, p.Addr().String())
	}
	return out
}

// Client returns a client connected to this server, created on first use
// and closed by Close. Callers must not close it themselves.
func (e *Embedded) Client() (*clientv3.Client, error) {
	e.clientOnce.Do(func() {
		e.client, e.clientErr = newClient(e.endpoints, e.clientTLS, 5*time.Second)
	})
	return e.client, e.clientErr
}

// Close stops the client returned by Client and the server, and releases
// the data directory. It is idempotent.
func (e *Embedded) Close() error {
	var err error
	e.closeOnce.Do(func() {
		if e.client != nil {
			err = e.client.Close()
		}
		closeEtcd(e.etcd)
	})
	return err
}

func closeEtcd(e *embed.Etcd) {
	e.Close()
	<-e.Server.StopNotify()
}

// newClient builds a client without blocking on the connection; tlsConfig
// nil speaks plain gRPC.
func newClient(endpoints []string, tlsConfig *tls.Config, dialTimeout time.Duration) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		TLS:         tlsConfig,
		DialTimeout: dialTimeout,
		Logger:      zap.NewNop(),
		// Keep requests on a connection that died from hanging forever.
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
	})
}

// shutdownNoiseFilter drops the error-level lines etcd logs on a normal
// shutdown ("server closed", "use of closed network connection", ...),
// which are not errors for the user.
type shutdownNoiseFilter struct {
	zapcore.Core
}

func (f shutdownNoiseFilter) With(fields []zapcore.Field) zapcore.Core {
	return shutdownNoiseFilter{Core: f.Core.With(fields)}
}

func (f shutdownNoiseFilter) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !f.Enabled(ent.Level) || (ent.Level >= zapcore.WarnLevel && isShutdownNoise(ent.Message)) {
		return ce
	}
	return ce.AddCore(ent, f)
}

func (f shutdownNoiseFilter) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if ent.Level >= zapcore.WarnLevel {
		for _, fld := range fields {
			if fld.Type == zapcore.ErrorType {
				if err, ok := fld.Interface.(error); ok && isShutdownNoise(err.Error()) {
					return nil
				}
			}
		}
	}
	return f.Core.Write(ent, fields)
}

func isShutdownNoise(msg string) bool {
	for _, s := range []string{"server closed", "use of closed network connection", "http: Server closed", "grpc: the server has been stopped"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
