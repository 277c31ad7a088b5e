package pki

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// EtcdAPIServerClientUser is the API server's identity towards etcd (kubeadm's
// apiserver-etcd-client certificate).
const EtcdAPIServerClientUser = "kube-apiserver-etcd-client"

// EtcdCerts are etcd's certificates, laid out as kubeadm does: a CA of its own in etcd/ca.*
// (etcd trusts only clients it signed), etcd/server.* and etcd/peer.*, and the API server's
// client certificate apiserver-etcd-client.* next to the cluster's.
type EtcdCerts struct {
	// CA signs the other three; etcd trusts client and peer certificates it signed.
	CA KeyPair
	// Server is etcd's serving certificate (also usable as a client certificate, as kubeadm's),
	// for localhost, 127.0.0.1 and ::1.
	Server KeyPair
	// Peer is etcd's peer certificate (server and client usage), for the same names.
	Peer KeyPair
	// APIServerClient is the API server's client certificate (EtcdAPIServerClientUser).
	APIServerClient KeyPair

	pool *x509.CertPool
}

// CAPool returns a pool holding etcd's CA.
func (e EtcdCerts) CAPool() *x509.CertPool {
	if e.pool == nil {
		return x509.NewCertPool()
	}
	return e.pool.Clone()
}

// EnsureEtcd returns etcd's PKI kept in dir (the cluster's PKI directory, as Ensure's), making
// the etcd CA and each certificate that is missing or no longer fits, and reusing the rest.
// Ensure calls it; it is exported for commands that need only etcd's part.
func EnsureEtcd(dir string, opts Options) (EtcdCerts, error) {
	if opts.Validity <= 0 {
		opts.Validity = DefaultCertValidity
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	etcdDir := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(etcdDir, 0o700); err != nil {
		return EtcdCerts{}, fmt.Errorf("pki: creating %s: %w", etcdDir, err)
	}
	if err := os.Chmod(etcdDir, 0o700); err != nil {
		return EtcdCerts{}, fmt.Errorf("pki: %w", err)
	}
	ca := &Bundle{Dir: etcdDir, opts: opts, caName: "etcd-ca"}
	if err := ca.ensureCA(); err != nil {
		return EtcdCerts{}, fmt.Errorf("etcd: %w", err)
	}
	names := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	server, err := ca.ensure("server", request{cn: "localhost", dns: names, ips: ips, server: true, alsoClient: true})
	if err != nil {
		return EtcdCerts{}, err
	}
	peer, err := ca.ensure("peer", request{cn: "localhost", dns: names, ips: ips, server: true, alsoClient: true})
	if err != nil {
		return EtcdCerts{}, err
	}
	client, err := ca.ensureAt(filepath.Join(dir, "apiserver-etcd-client.crt"), filepath.Join(dir, "apiserver-etcd-client.key"),
		request{cn: EtcdAPIServerClientUser})
	if err != nil {
		return EtcdCerts{}, err
	}
	return EtcdCerts{CA: ca.CA, Server: server, Peer: peer, APIServerClient: client, pool: ca.caPool}, nil
}

// EnsureEtcdPeer returns the peer certificate of the etcd member name (etcd/peer-NAME.*),
// issued by etcd's CA (EnsureEtcd makes it) for localhost, the loopback addresses and ips: the
// addresses its peers dial in a cluster of several members.
func EnsureEtcdPeer(dir, name string, ips []net.IP) (KeyPair, error) {
	if _, err := EnsureEtcd(dir, Options{}); err != nil {
		return KeyPair{}, err
	}
	ca := &Bundle{Dir: filepath.Join(dir, "etcd"), opts: Options{Validity: DefaultCertValidity, Now: time.Now}, caName: "etcd-ca"}
	if err := ca.ensureCA(); err != nil {
		return KeyPair{}, fmt.Errorf("etcd: %w", err)
	}
	all := append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ips...)
	return ca.ensure("peer-"+name, request{cn: name, dns: []string{"localhost", name}, ips: all, server: true, alsoClient: true})
}
