package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// DefaultDialTimeout is how long Open waits for external endpoints.
const DefaultDialTimeout = 5 * time.Second

// Config says which etcd Open uses.
type Config struct {
	// DataDir is the embedded etcd's data directory, used when Endpoints
	// is empty.
	DataDir string
	// Endpoints of an external etcd cluster (host:port or URLs). When set,
	// DataDir and UnsafeNoFsync are ignored.
	Endpoints []string
	// Prefix the store keeps its keys under (see WithPrefix).
	Prefix string
	// UnsafeNoFsync disables fsync in the embedded etcd (tests only).
	UnsafeNoFsync bool
	// DialTimeout bounds the first contact with the endpoints; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// Logger receives the embedded etcd's logs; nil discards them.
	Logger *zap.Logger
	// TLS is the client's TLS configuration (see ClientTLS): required with
	// ServerTLS; with Endpoints, nil speaks plain gRPC to them.
	TLS *tls.Config
	// ServerTLS makes the embedded etcd serve HTTPS only and require client
	// certificates signed by its TrustedCAFile (see EmbeddedConfig.TLS).
	ServerTLS *ServerTLS
}

// ClientTLS returns the TLS configuration of an etcd client from the files
// kube-apiserver's --etcd-cafile, --etcd-certfile and --etcd-keyfile name:
// the CA that signed etcd's serving certificate, and the client's
// certificate and key (both or neither). It uses etcd's own client/pkg
// transport, as kube-apiserver does.
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("etcd client TLS: give both the certificate and its key (--etcd-certfile and --etcd-keyfile), or neither")
	}
	info := transport.TLSInfo{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: caFile}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd client TLS: %w", err)
	}
	return c, nil
}

// Open returns a Store that owns its etcd connection. With Endpoints empty it
// starts an embedded etcd on DataDir (Close stops it); otherwise it connects
// to the external cluster and checks that it answers before returning.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	if len(cfg.Endpoints) == 0 {
		if cfg.DataDir == "" {
			return nil, errors.New("etcd store: neither a data directory nor endpoints given — set --data-dir for the embedded etcd or --etcd-endpoints for an external one")
		}
		e, err := StartEmbedded(ctx, EmbeddedConfig{
			DataDir: cfg.DataDir, UnsafeNoFsync: cfg.UnsafeNoFsync, Logger: cfg.Logger,
			TLS: cfg.ServerTLS, ClientTLS: cfg.TLS,
		})
		if err != nil {
			return nil, err
		}
		client, err := e.Client()
		if err != nil {
			_ = e.Close()
			return nil, fmt.Errorf("embedded etcd on %q: cannot create a client: %w", cfg.DataDir, err)
		}
		s := New(client, WithPrefix(cfg.Prefix))
		s.embedded = e // closes the client too
		return s, nil
	}

	client, err := newClient(cfg.Endpoints, cfg.TLS, timeout)
	if err != nil {
		return nil, fmt.Errorf("cannot use etcd endpoints %s: %w — check --etcd-endpoints (host:port, comma-separated)",
			strings.Join(cfg.Endpoints, ","), err)
	}
	s := New(client, WithPrefix(cfg.Prefix))
	s.ownsClient = true
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := s.currentRevision(pctx); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("cannot reach etcd at %s: %w — check --etcd-endpoints (and --etcd-cafile, --etcd-certfile, --etcd-keyfile for an etcd with TLS) or omit it to use the embedded etcd",
			strings.Join(cfg.Endpoints, ","), err)
	}
	return s, nil
}

// clientFor returns a client dialled to endpoints, for the snapshot helpers.
func clientFor(endpoints []string, tlsConfig *tls.Config) (*clientv3.Client, error) {
	return newClient(endpoints, tlsConfig, DefaultDialTimeout)
}
