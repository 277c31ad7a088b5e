package pki

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// Kubernetes' identities of the cluster's components, as kubeadm issues them.
const (
	// AdminUser and MastersGroup are the administrator's identity (kubeadm's admin.conf in
	// kubeadm before 1.29; system:masters bypasses authorization).
	AdminUser    = "kubernetes-admin"
	MastersGroup = "system:masters"
	// SchedulerUser and ControllerManagerUser are the control-plane components' users.
	SchedulerUser         = "system:kube-scheduler"
	ControllerManagerUser = "system:kube-controller-manager"
	// ProxyUser is kube-proxy's user (bound to system:node-proxier by the RBAC bootstrap
	// policy).
	ProxyUser = "system:kube-proxy"
	// APIServerKubeletClientUser is the API server's identity towards kubelets (in
	// system:masters, as kubeadm's apiserver-kubelet-client certificate).
	APIServerKubeletClientUser = "kube-apiserver-kubelet-client"
	// NodeUserPrefix + NAME, in NodesGroup, is a kubelet's identity.
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
)

// Defaults of Options.
const (
	DefaultServiceCIDR   = "10.96.0.0/16"
	DefaultClusterDomain = "cluster.local"
	// DefaultCertValidity is how long issued certificates live (kubeadm: one year); the CA
	// lives ten years.
	DefaultCertValidity = 365 * 24 * time.Hour
	caValidity          = 10 * 365 * 24 * time.Hour
	// renewBefore: a certificate found with less than this left is issued again.
	renewBefore = 30 * 24 * time.Hour
)

// Options say what the cluster's certificates must hold.
type Options struct {
	// ServiceCIDR is the Services' ClusterIP range; its first address is the kubernetes
	// Service's IP, a SAN of the API server's certificate (default DefaultServiceCIDR).
	ServiceCIDR string
	// ClusterDomain is the cluster's DNS domain (default DefaultClusterDomain).
	ClusterDomain string
	// APIServerIPs and APIServerNames are the addresses and host names clients use to reach
	// the API server (every listen address); 127.0.0.1, localhost, the kubernetes Service's IP
	// and its DNS names are always added.
	APIServerIPs   []net.IP
	APIServerNames []string
	// Nodes get a kubelet client certificate and a kubelet serving certificate each.
	Nodes []Node
	// Validity of issued certificates (default DefaultCertValidity).
	Validity time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Node is one kubelet's names.
type Node struct {
	// Name is the Node object's name (the client identity is system:node:Name).
	Name string
	// IPs and Hostnames are the SANs of the kubelet's serving certificate (Name is added).
	IPs       []net.IP
	Hostnames []string
}

// KeyPair is a certificate, its private key, and the files that hold them.
type KeyPair struct {
	Cert     *x509.Certificate
	CertPEM  []byte
	KeyPEM   []byte
	CertFile string
	KeyFile  string
}

// TLSCertificate returns the pair for crypto/tls.
func (k KeyPair) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(k.CertPEM, k.KeyPEM)
}

// NodeCerts are one kubelet's certificates.
type NodeCerts struct {
	// Client is system:node:NAME in system:nodes.
	Client KeyPair
	// Serving is the kubelet API's serving certificate.
	Serving KeyPair
}

// Bundle is the cluster's PKI kept in Dir.
type Bundle struct {
	Dir string
	// CA is the cluster CA; its key signs every certificate of the bundle.
	CA KeyPair
	// APIServer is the API server's serving certificate.
	APIServer KeyPair
	// Admin is kubernetes-admin in system:masters.
	Admin KeyPair
	// Scheduler, ControllerManager, Proxy and APIServerKubeletClient are the components' client
	// certificates.
	Scheduler              KeyPair
	ControllerManager      KeyPair
	Proxy                  KeyPair
	APIServerKubeletClient KeyPair
	// Nodes are the kubelets' certificates by node name.
	Nodes map[string]NodeCerts
	// ServiceAccountKey signs ServiceAccount tokens (sa.key, RSA 2048 as kubeadm);
	// ServiceAccountPublicKeyFile is sa.pub (PEM "PUBLIC KEY").
	ServiceAccountKey           *rsa.PrivateKey
	ServiceAccountKeyFile       string
	ServiceAccountPublicKeyFile string
	// Etcd is etcd's own PKI under Dir/etcd (a separate CA, as kubeadm's etcd/ca).
	Etcd EtcdCerts
	// FrontProxy is the aggregation layer's PKI (a separate CA, as kubeadm's front-proxy-ca).
	FrontProxy FrontProxyCerts

	opts   Options
	caKey  crypto.Signer
	caPool *x509.CertPool
	// caName is the CA's common name (default "kubernetes").
	caName string
}

// CAPool returns a pool holding the cluster CA.
func (b *Bundle) CAPool() *x509.CertPool { return b.caPool.Clone() }

// ServiceIP returns the kubernetes Service's IP: the first address of the service CIDR.
func ServiceIP(serviceCIDR string) (net.IP, error) {
	if serviceCIDR == "" {
		serviceCIDR = DefaultServiceCIDR
	}
	p, err := netip.ParsePrefix(serviceCIDR)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", serviceCIDR, err)
	}
	ip := p.Masked().Addr().Next()
	if !p.Contains(ip) {
		return nil, fmt.Errorf("service CIDR %q has no first address", serviceCIDR)
	}
	return net.IP(ip.AsSlice()), nil
}

// Ensure returns the PKI kept in dir, creating the directory, the CA, the ServiceAccount key
// pair and every certificate opts asks for that is missing, not signed by the CA, about to
// expire, or lacking a name or address opts asks for. Existing valid files are reused, so the
// CA and every client's credentials survive restarts.
func Ensure(dir string, opts Options) (*Bundle, error) {
	if opts.ServiceCIDR == "" {
		opts.ServiceCIDR = DefaultServiceCIDR
	}
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = DefaultClusterDomain
	}
	if opts.Validity <= 0 {
		opts.Validity = DefaultCertValidity
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	b := &Bundle{Dir: dir, opts: opts, Nodes: map[string]NodeCerts{}}
	if err := b.ensureCA(); err != nil {
		return nil, err
	}
	if err := b.ensureServiceAccountKey(); err != nil {
		return nil, err
	}
	serviceIP, err := ServiceIP(opts.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	names := append([]string{
		"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc." + opts.ClusterDomain,
	}, opts.APIServerNames...)
	ips := append([]net.IP{net.IPv4(127, 0, 0, 1), serviceIP}, opts.APIServerIPs...)
	if b.APIServer, err = b.ensure("apiserver", request{cn: "kube-apiserver", dns: names, ips: ips, server: true}); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		file string
		kp   *KeyPair
		req  request
	}{
		{"admin", &b.Admin, request{cn: AdminUser, orgs: []string{MastersGroup}}},
		{"kube-scheduler", &b.Scheduler, request{cn: SchedulerUser}},
		{"kube-controller-manager", &b.ControllerManager, request{cn: ControllerManagerUser}},
		{"kube-proxy", &b.Proxy, request{cn: ProxyUser}},
		{"apiserver-kubelet-client", &b.APIServerKubeletClient, request{cn: APIServerKubeletClientUser, orgs: []string{MastersGroup}}},
	} {
		if *c.kp, err = b.ensure(c.file, c.req); err != nil {
			return nil, err
		}
	}
	for _, n := range opts.Nodes {
		if _, err := b.EnsureNode(n); err != nil {
			return nil, err
		}
	}
	if b.Etcd, err = EnsureEtcd(dir, opts); err != nil {
		return nil, err
	}
	if b.FrontProxy, err = EnsureFrontProxy(dir, opts); err != nil {
		return nil, err
	}
	return b, nil
}

// EnsureNode returns the certificates of one kubelet, issuing those that are missing or no
// longer fit (a node joining a running cluster), and records them in b.Nodes.
func (b *Bundle) EnsureNode(n Node) (NodeCerts, error) {
	if errs := validation.IsDNS1123Subdomain(n.Name); len(errs) > 0 {
		return NodeCerts{}, fmt.Errorf("pki: node name %q: %v", n.Name, errs)
	}
	dir := filepath.Join("nodes", n.Name)
	if err := os.MkdirAll(filepath.Join(b.Dir, dir), 0o700); err != nil {
		return NodeCerts{}, fmt.Errorf("pki: %w", err)
	}
	user := NodeUserPrefix + n.Name
	client, err := b.ensure(filepath.Join(dir, "kubelet-client"), request{cn: user, orgs: []string{NodesGroup}})
	if err != nil {
		return NodeCerts{}, err
	}
	serving, err := b.ensure(filepath.Join(dir, "kubelet"), request{
		cn: user, orgs: []string{NodesGroup}, dns: append([]string{n.Name}, n.Hostnames...), ips: n.IPs, server: true,
	})
	if err != nil {
		return NodeCerts{}, err
	}
	nc := NodeCerts{Client: client, Serving: serving}
	b.Nodes[n.Name] = nc
	return nc, nil
}

// IssueClient returns a client certificate for user in groups, kept as NAME.crt/NAME.key (for
// identities the bundle has no field for).
func (b *Bundle) IssueClient(name, user string, groups ...string) (KeyPair, error) {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return KeyPair{}, fmt.Errorf("pki: file name %q: %v", name, errs)
	}
	return b.ensure(name, request{cn: user, orgs: groups})
}

// request describes a certificate to issue.
type request struct {
	cn     string
	orgs   []string
	dns    []string
	ips    []net.IP
	server bool
	// alsoClient makes a serving certificate usable as a client certificate too (etcd's
	// server and peer certificates, as kubeadm issues them).
	alsoClient bool
}

func (r request) usages() []x509.ExtKeyUsage {
	switch {
	case r.server && r.alsoClient:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	case r.server:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	default:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
}

func (b *Bundle) ensureCA() error {
	certFile, keyFile := filepath.Join(b.Dir, "ca.crt"), filepath.Join(b.Dir, "ca.key")
	kp, key, err := load(certFile, keyFile)
	if err == nil && kp.Cert.IsCA && b.opts.Now().Before(kp.Cert.NotAfter.Add(-renewBefore)) {
		b.CA, b.caKey = kp, key
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pki: the cluster CA in %s: %w", b.Dir, err)
	} else if err == nil {
		return fmt.Errorf("pki: the cluster CA in %s is not a usable CA (expires %s); move it away to make a new one", b.Dir, kp.Cert.NotAfter)
	} else {
		signer, keyPEM, err := newKey()
		if err != nil {
			return err
		}
		ca, err := cert.NewSelfSignedCACert(cert.Config{CommonName: cmp.Or(b.caName, "kubernetes"), NotBefore: b.opts.Now().Add(-5 * time.Minute)}, signer)
		if err != nil {
			return fmt.Errorf("pki: making the cluster CA: %w", err)
		}
		certPEM, err := cert.EncodeCertificates(ca)
		if err != nil {
			return fmt.Errorf("pki: %w", err)
		}
		// The key first: a crash in between leaves no certificate without its key.
		if err := writeFile(keyFile, keyPEM); err != nil {
			return err
		}
		if err := writeFile(certFile, certPEM); err != nil {
			return err
		}
		b.CA = KeyPair{Cert: ca, CertPEM: certPEM, KeyPEM: keyPEM, CertFile: certFile, KeyFile: keyFile}
		b.caKey = signer
	}
	b.caPool = x509.NewCertPool()
	b.caPool.AddCert(b.CA.Cert)
	return nil
}

func (b *Bundle) ensureServiceAccountKey() error {
	keyFile, pubFile := filepath.Join(b.Dir, "sa.key"), filepath.Join(b.Dir, "sa.pub")
	b.ServiceAccountKeyFile, b.ServiceAccountPublicKeyFile = keyFile, pubFile
	data, err := os.ReadFile(keyFile)
	if err == nil {
		key, err := keyutil.ParsePrivateKeyPEM(data)
		if err != nil {
			return fmt.Errorf("pki: %s: %w", keyFile, err)
		}
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("pki: %s is not an RSA key", keyFile)
		}
		b.ServiceAccountKey = rsaKey
	} else if errors.Is(err, os.ErrNotExist) {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return fmt.Errorf("pki: generating the ServiceAccount key: %w", err)
		}
		keyPEM, err := keyutil.MarshalPrivateKeyToPEM(rsaKey)
		if err != nil {
			return fmt.Errorf("pki: %w", err)
		}
		if err := writeFile(keyFile, keyPEM); err != nil {
			return err
		}
		b.ServiceAccountKey = rsaKey
	} else {
		return fmt.Errorf("pki: %w", err)
	}
	pubPEM, err := encodePublicKey(b.ServiceAccountKey.Public())
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(pubFile); err == nil && bytes.Equal(old, pubPEM) {
		return nil
	}
	return writeFile(pubFile, pubPEM)
}

// ensure loads NAME.crt/NAME.key from the bundle's directory, or issues them again when they
// are missing or do not fit r.
func (b *Bundle) ensure(name string, r request) (KeyPair, error) {
	return b.ensureAt(filepath.Join(b.Dir, name+".crt"), filepath.Join(b.Dir, name+".key"), r)
}

// ensureAt is ensure with the files' paths.
func (b *Bundle) ensureAt(certFile, keyFile string, r request) (KeyPair, error) {
	if kp, _, err := load(certFile, keyFile); err == nil && b.fits(kp.Cert, r) {
		return kp, nil
	}
	// A missing, damaged or unfitting pair is issued again: only the CA is precious.
	return b.issue(certFile, keyFile, r)
}

// fits says whether c is signed by the CA, valid for a while, and holds r's identity, usage,
// names and addresses.
func (b *Bundle) fits(c *x509.Certificate, r request) bool {
	for _, u := range r.usages() {
		if _, err := c.Verify(x509.VerifyOptions{Roots: b.caPool, KeyUsages: []x509.ExtKeyUsage{u}, CurrentTime: b.opts.Now()}); err != nil {
			return false
		}
	}
	if b.opts.Now().After(c.NotAfter.Add(-renewBefore)) {
		return false
	}
	if c.Subject.CommonName != r.cn || !slices.Equal(c.Subject.Organization, r.orgs) {
		return false
	}
	for _, n := range r.dns {
		if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	for _, ip := range r.ips {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func (b *Bundle) issue(certFile, keyFile string, r request) (KeyPair, error) {
	signer, keyPEM, err := newKey()
	if err != nil {
		return KeyPair{}, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64))
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: %w", err)
	}
	now := b.opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: r.cn, Organization: r.orgs},
		DNSNames:              dedupNames(r.dns),
		IPAddresses:           dedupIPs(r.ips),
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(b.opts.Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           r.usages(),
		BasicConstraintsValid: true,
	}
	if tmpl.NotAfter.After(b.CA.Cert.NotAfter) {
		tmpl.NotAfter = b.CA.Cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, b.CA.Cert, signer.Public(), b.caKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: issuing %s: %w", r.cn, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: %w", err)
	}
	certPEM, err := cert.EncodeCertificates(c)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pki: %w", err)
	}
	if err := writeFile(keyFile, keyPEM); err != nil {
		return KeyPair{}, err
	}
	if err := writeFile(certFile, certPEM); err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Cert: c, CertPEM: certPEM, KeyPEM: keyPEM, CertFile: certFile, KeyFile: keyFile}, nil
}

// newKey makes an ECDSA P-256 key (client-go's keyutil format, "EC PRIVATE KEY").
func newKey() (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generating a key: %w", err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	return key, keyPEM, nil
}

// load reads a certificate and its key and checks that they belong together.
func load(certFile, keyFile string) (KeyPair, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return KeyPair{}, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return KeyPair{}, nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return KeyPair{}, nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return KeyPair{}, nil, fmt.Errorf("%s: not a signing key", keyFile)
	}
	return KeyPair{Cert: pair.Leaf, CertPEM: certPEM, KeyPEM: keyPEM, CertFile: certFile, KeyFile: keyFile}, signer, nil
}

func encodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// writeFile replaces path atomically with data, mode 0600.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	return nil
}

func dedupNames(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func dedupIPs(ips []net.IP) []net.IP {
	var out []net.IP
	for _, ip := range ips {
		if ip != nil && !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}

// ServingTLSConfig is the API server's TLS configuration: its serving certificate, TLS 1.2 or
// later, client certificates requested (with the cluster CA named as acceptable) but neither
// required nor verified here — the API server's x509 authenticator verifies them, so that a
// client without one can still reach the anonymous endpoints and a bad one gets 401.
func (b *Bundle) ServingTLSConfig() (*tls.Config, error) {
	pair, err := b.APIServer.TLSCertificate()
	if err != nil {
		return nil, fmt.Errorf("pki: the serving certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    b.CAPool(),
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// RESTConfig returns a client-go configuration reaching serverURL (https) as id, trusting only
// the cluster CA.
func (b *Bundle) RESTConfig(serverURL string, id KeyPair) *rest.Config {
	return &rest.Config{
		Host: serverURL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   slices.Clone(b.CA.CertPEM),
			CertData: slices.Clone(id.CertPEM),
			KeyData:  slices.Clone(id.KeyPEM),
		},
	}
}
