package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"
)

// DefaultTimeout bounds each CRI call made through Runtime and Images
// (the kubelet's default runtime request timeout is 2m; tests want less).
const DefaultTimeout = 2 * time.Minute

// Endpoint names a CRI runtime: "unix:///run/x.sock" or a plain socket path.
type Endpoint struct {
	// Address is the endpoint; a path without scheme means unix://.
	Address string
	// Timeout is the per-call timeout (DefaultTimeout when zero).
	Timeout time.Duration
}

// New names a runtime endpoint without dialing.
func New(address string) Endpoint { return Endpoint{Address: address} }

// URL is the endpoint with its unix:// scheme.
func (e Endpoint) URL() string {
	if strings.Contains(e.Address, "://") {
		return e.Address
	}
	return "unix://" + e.Address
}

func (e Endpoint) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return DefaultTimeout
}

// Runtime dials the RuntimeService (checking it answers Version) and
// returns the kubelet's client for it.
func (e Endpoint) Runtime(ctx context.Context) (internalapi.RuntimeService, error) {
	rs, err := remote.NewRemoteRuntimeService(ctx, e.URL(), e.timeout(), nil, false)
	if err != nil {
		return nil, fmt.Errorf("connect to CRI runtime %s: %w", e.URL(), err)
	}
	return rs, nil
}

// Images dials the ImageService and returns the kubelet's client for it.
func (e Endpoint) Images(ctx context.Context) (internalapi.ImageManagerService, error) {
	is, err := remote.NewRemoteImageService(ctx, e.URL(), e.timeout(), nil, false)
	if err != nil {
		return nil, fmt.Errorf("connect to CRI image service %s: %w", e.URL(), err)
	}
	return is, nil
}

// Conn is a raw gRPC connection to a CRI endpoint with both generated
// clients; Close it when done.
type Conn struct {
	*grpc.ClientConn
	Runtime runtimeapi.RuntimeServiceClient
	Images  runtimeapi.ImageServiceClient
}

// Raw opens a plain gRPC connection (lazily connected by gRPC).
func (e Endpoint) Raw() (*Conn, error) {
	target := e.URL()
	if p, ok := strings.CutPrefix(target, "unix://"); ok {
		target = "unix:" + p
	}
	cc, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, fmt.Errorf("CRI endpoint %s: %w", e.URL(), err)
	}
	return &Conn{ClientConn: cc, Runtime: runtimeapi.NewRuntimeServiceClient(cc), Images: runtimeapi.NewImageServiceClient(cc)}, nil
}

// WaitReady polls the runtime's Status until it reports RuntimeReady and
// NetworkReady, or ctx ends.
func (c *Conn) WaitReady(ctx context.Context) error {
	var last error
	for {
		resp, err := c.Runtime.Status(ctx, &runtimeapi.StatusRequest{})
		if err == nil {
			ready := map[string]bool{}
			for _, cond := range resp.GetStatus().GetConditions() {
				ready[cond.Type] = cond.Status
			}
			if ready[runtimeapi.RuntimeReady] && ready[runtimeapi.NetworkReady] {
				return nil
			}
			last = fmt.Errorf("runtime not ready: %v", resp.GetStatus().GetConditions())
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for CRI runtime: %w (last: %v)", ctx.Err(), last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
