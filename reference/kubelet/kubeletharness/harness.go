package kubeletharness

import (
	"context"
	crand "crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cri "k8s.io/cri-api/pkg/apis"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// Options choose the kubelet under test.
type Options struct {
	// Name of the implementation in reports (default "clusterkit kubelet").
	Name string
	// Runtime is localnode.Simulated ("" too) or the CRI endpoint of a
	// running runtime (containerd) that already holds the test image.
	Runtime string
	// BackoffBase is the kubelet's back-off base (default 1 s, cap 8×).
	BackoffBase time.Duration
	// Kubelet adjusts the kubelet's configuration (known-bad kubelets).
	Kubelet func(*kubelet.Config)
	// WrapRuntime wraps the CRI runtime the kubelet sees.
	WrapRuntime func(cri.RuntimeService) cri.RuntimeService
	// WrapTransport wraps the transport of the kubelet's API client (known-bad kubelets
	// whose writes are lost on the way).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Logf receives the kubelet's log lines.
	Logf func(format string, args ...any)
}

// StartCluster starts an API server on a memory store, serving on a
// loopback port, issuing ServiceAccount tokens (TokenRequest, for projected
// token volumes) with a fresh key, and returns its client config and a stop
// function.
func StartCluster(ctx context.Context) (*rest.Config, func(), error) {
	key, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	issuer, err := serviceaccount.NewIssuer("https://kubernetes.default.svc.cluster.local", key)
	if err != nil {
		return nil, nil, err
	}
	srv, err := apiserver.New(apiserver.Config{Store: memory.New(), ServiceAccountIssuer: issuer})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	stopAll := func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver stopped with: %v\n", err)
		}
	}
	if err := srv.Bootstrap(ctx); err != nil {
		stopAll()
		return nil, nil, err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*apiserver.Kubeconfig("http://" + ln.Addr().String()), nil).ClientConfig()
	if err != nil {
		stopAll()
		return nil, nil, err
	}
	cfg.QPS = -1
	return cfg, stopAll, nil
}

// The cluster DNS settings of the harness's kubelets, kubeadm's (no DNS server answers there:
// the specs read what pods are configured with).
const (
	ClusterDNS    = "10.96.0.10"
	ClusterDomain = "cluster.local"
)

// KubeletConfig is the kubelet configuration the harness uses: short sync,
// status and lease periods, the given back-off base, and kubeadm's cluster DNS settings.
func KubeletConfig(base time.Duration) kubelet.Config {
	if base <= 0 {
		base = time.Second
	}
	return kubelet.Config{
		BackoffBase:    base,
		BackoffCap:     8 * base,
		SyncInterval:   200 * time.Millisecond,
		StatusInterval: 2 * time.Second,
		LeaseDuration:  4 * time.Second,
		ClusterDNS:     []string{ClusterDNS},
		ClusterDomain:  ClusterDomain,
	}
}

// InProcess is the kubelet harness: a fresh closed API server (StartClosedCluster) and node
// per spec, the kubelet acting as system:node:NAME and serving its API locked (HTTPS,
// client certificates and TokenReview, SubjectAccessReview) before Options.Kubelet adjusts
// it.
func InProcess(o Options) conformance.KubeletHarness {
	base := o.BackoffBase
	if base <= 0 {
		base = time.Second
	}
	level := conformance.SimulatedRuntime
	if o.Runtime != "" && o.Runtime != localnode.Simulated {
		level = conformance.ContainerdRuntime
	}
	name := o.Name
	if name == "" {
		name = "clusterkit kubelet"
	}
	var seq atomic.Int64
	return conformance.KubeletHarness{
		Name:              name,
		Runtime:           level,
		BackoffBase:       base,
		CanRestartKubelet: true,
		HasStaticPods:     true,
		HasMetricsAPI:     true,
		ClusterDNS:        ClusterDNS,
		ClusterDomain:     ClusterDomain,
		Connect: func(ctx context.Context, c conformance.Cleaner) (conformance.KubeletUnderTest, error) {
			dir, err := os.MkdirTemp("", "ck-kh-")
			if err != nil {
				return conformance.KubeletUnderTest{}, err
			}
			c.Cleanup(func() { _ = os.RemoveAll(dir) })
			cluster, stop, err := StartClosedCluster(ctx, dir)
			if err != nil {
				return conformance.KubeletUnderTest{}, err
			}
			c.Cleanup(stop)
			name := fmt.Sprintf("node-%d-%04x", seq.Add(1), rand.IntN(1<<16))
			nodeREST, kc, err := cluster.NodeKubelet(name, KubeletConfig(base))
			if err != nil {
				return conformance.KubeletUnderTest{}, err
			}
			kc.Logf = o.Logf
			if o.WrapTransport != nil {
				nodeREST.Wrap(o.WrapTransport)
			}
			if o.Kubelet != nil {
				o.Kubelet(&kc)
			}
			node, err := localnode.Start(ctx, nodeREST, localnode.Config{
				Name:        name,
				Dir:         filepath.Join(dir, "node"),
				Runtime:     o.Runtime,
				Kubelet:     kc,
				WrapRuntime: o.WrapRuntime,
			})
			if err != nil {
				return conformance.KubeletUnderTest{}, err
			}
			c.Cleanup(func() {
				// On a shared real runtime, remove the spec's pods first.
				if o.Runtime != "" && o.Runtime != localnode.Simulated {
					cleanRuntime(node)
				}
				node.Close()
			})
			return conformance.KubeletUnderTest{
				Config:       cluster.Admin,
				Node:         node.Name(),
				StopKubelet:  func(context.Context) error { return node.StopKubelet() },
				StartKubelet: node.StartKubelet,
				StaticPodDir: filepath.Join(dir, "node", "manifests"),
			}, nil
		},
	}
}
